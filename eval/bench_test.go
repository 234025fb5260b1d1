package eval

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/lair-ir/lair/datasets"
	"github.com/lair-ir/lair/eval/metrics"
	"github.com/lair-ir/lair/tables"
)

// xquadShape builds an in-memory dataset shaped like XQuAD-R: 11
// languages x 1,190 questions (13,090 queries), 13,014 candidates, 11
// relevant candidates per query (one per language), and random unit
// vectors of dimension dim.
func xquadShape(dim int) (*datasets.Dataset, *tables.Embeddings) {
	langs := []string{"ar", "de", "el", "en", "es", "hi", "ru", "th", "tr", "vi", "zh"}
	groups, cands := 1190, 13014
	if g, err := strconv.Atoi(os.Getenv("LAIR_BENCH_GROUPS")); err == nil && g > 0 { // smaller runs for profiling
		groups, cands = g, g*11
	}
	r := rand.New(rand.NewPCG(1, 2))
	ds := &datasets.Dataset{Meta: datasets.Meta{Dataset: "xquad-r"}}
	e := &tables.Embeddings{Dim: dim, ModelKey: "random"}
	vec := func() {
		v := make([]float32, dim)
		var n float64
		for i := range v {
			x := r.NormFloat64()
			v[i] = float32(x)
			n += x * x
		}
		for i := range v {
			v[i] /= float32(math.Sqrt(n))
		}
		e.Vectors = append(e.Vectors, v...)
	}
	for li, l := range langs {
		perLang := cands / len(langs)
		if li < cands%len(langs) {
			perLang++
		}
		for c := 0; c < perLang; c++ {
			cid := fmt.Sprintf("%s-c%05d", l, c)
			ds.Candidates = append(ds.Candidates, tables.Candidate{Dataset: "xquad-r", CID: cid, Lang: l})
			e.IDs, e.Roles, e.Langs = append(e.IDs, cid), append(e.Roles, tables.RolePassage), append(e.Langs, l)
			vec()
		}
	}
	for _, l := range langs {
		for g := 0; g < groups; g++ {
			qid := fmt.Sprintf("%s-q%04d", l, g)
			ds.Queries = append(ds.Queries, tables.Query{Dataset: "xquad-r", QID: qid, GroupID: fmt.Sprint(g), Lang: l})
			e.IDs, e.Roles, e.Langs = append(e.IDs, qid), append(e.Roles, tables.RoleQuery), append(e.Langs, l)
			vec()
			for _, l2 := range langs {
				ds.Qrels = append(ds.Qrels, tables.Qrel{Dataset: "xquad-r", QID: qid, CID: fmt.Sprintf("%s-c%05d", l2, g%(cands/len(langs))), Relevance: 1})
			}
		}
	}
	return ds, e
}

// BenchmarkXQuADRFull is the full XQuAD-R-sized evaluation: exact
// retrieval in all three settings (mono, cross, multi), every relevant
// rank over the full ranking, top-1000 lists, then all metrics. With
// LAIR_BENCH_RANKINGS=1 the rankings are also written to rankings.parquet.
func BenchmarkXQuADRFull(b *testing.B) {
	ds, e := xquadShape(768)
	if err := ds.Check(); err != nil {
		b.Fatal(err)
	}
	threads := runtime.GOMAXPROCS(0)
	writeFile := os.Getenv("LAIR_BENCH_RANKINGS") == "1"
	dir := b.TempDir()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		p := Prepare(ds)
		sc, err := DenseScorer(p, e, "random", true)
		if err != nil {
			b.Fatal(err)
		}
		specs, _ := metrics.ParseAll(DefaultLAReQAMetrics)
		var nPerQuery int
		ev := NewEvaluator(specs, true, nil, nil, func(r []tables.PerQuery) error { nPerQuery += len(r); return nil })
		var w *RankingsWriter
		if writeFile {
			if w, err = CreateRankings(filepath.Join(dir, RankingsFile)); err != nil {
				b.Fatal(err)
			}
		}
		t1 := time.Now()
		st, err := Retrieve(context.Background(), p, sc, sc, RetrieveOptions{Threads: threads}, func(rows []Ranking) error {
			for i := range rows {
				if err := ev.Add(&rows[i]); err != nil {
					return err
				}
			}
			if w != nil {
				return w.Write(rows)
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		if w != nil {
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
		}
		if err := ev.Flush(); err != nil {
			b.Fatal(err)
		}
		ms := ev.Metrics()
		t2 := time.Now()
		if i == 0 {
			flops := 2.0 * float64(len(ds.Queries)) * float64(len(ds.Candidates)) * 768
			b.Logf("rows %v, metric rows %d, per-query rows %d; prepare %.2fs, retrieve+evaluate %.2fs; %.1f GFLOP/s effective over the run",
				st.Rows, len(ms), nPerQuery, t1.Sub(t0).Seconds(), t2.Sub(t1).Seconds(), flops/t2.Sub(t1).Seconds()/1e9)
			var mapMulti float64
			for _, m := range ms {
				if m.Setting == Multi && m.Metric == "map" && m.QLang == All {
					mapMulti = m.Value
				}
			}
			b.Logf("multi map on random vectors: %.5f", mapMulti)
		}
	}
}
