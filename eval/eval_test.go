package eval

import (
	"bufio"
	"compress/gzip"
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/lair-ir/lair/datasets"
	"github.com/lair-ir/lair/eval/bm25"
	"github.com/lair-ir/lair/eval/evaltest"
	"github.com/lair-ir/lair/eval/metrics"
	"github.com/lair-ir/lair/tables"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata")

func loadSynthetic(t *testing.T, langs []string, groups, distractors int) (*Prepared, *evaltest.Dataset, string) {
	t.Helper()
	ds := evaltest.Make("synth", langs, groups, distractors, 1)
	dir := t.TempDir()
	if err := ds.Write(dir); err != nil {
		t.Fatal(err)
	}
	loaded, err := datasets.ReadChecked(dir)
	if err != nil {
		t.Fatal(err)
	}
	return Prepare(loaded), ds, dir
}

func collect(t *testing.T, p *Prepared, e *tables.Embeddings, opt RetrieveOptions) []Ranking {
	t.Helper()
	sc, err := DenseScorer(p, e, "emb.arrow", true)
	if err != nil {
		t.Fatal(err)
	}
	var rows []Ranking
	_, err = Retrieve(context.Background(), p, sc, sc, opt, func(b []Ranking) error {
		rows = append(rows, b...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestRetrieveMatchesNaive compares every rank and top list with a brute
// force sort of each pool, on data with exact ties (duplicate vectors).
func TestRetrieveMatchesNaive(t *testing.T) {
	p, ds, _ := loadSynthetic(t, []string{"en", "de", "zh"}, 25, 30)
	e := ds.Embed(16, 1.0, 0.6, 2)
	// duplicate two candidates' vectors to force ties across languages
	idx := map[string]int{}
	for i, id := range e.IDs {
		if e.Roles[i] == tables.RolePassage {
			idx[id] = i
		}
	}
	copy(e.Vector(idx["x001-de"]), e.Vector(idx["c003-en"]))
	copy(e.Vector(idx["x002-en"]), e.Vector(idx["c003-en"]))
	sc, err := DenseScorer(p, e, "emb.arrow", true)
	if err != nil {
		t.Fatal(err)
	}
	rows := collect(t, p, e, RetrieveOptions{RunID: "r", K: 1000, CrossK: 7, Threads: 2})
	w := sc.NewWorker()
	qindex := map[string]int{}
	for i, q := range p.DS.Queries {
		qindex[q.QID] = i
	}
	cidx := map[string]int{}
	for i, c := range p.CID {
		cidx[c] = i
	}
	counts := map[string]int{}
	for _, r := range rows {
		counts[r.Setting]++
		q := qindex[r.QID]
		var pool []int
		for c := range p.CID {
			if r.CLang == All || p.CLang[c] == r.CLang {
				pool = append(pool, c)
			}
		}
		slices.SortFunc(pool, func(a, b int) int {
			sa, sb := w.Pair(q, a), w.Pair(q, b)
			if sa != sb {
				if sa > sb {
					return -1
				}
				return 1
			}
			return strings.Compare(p.CID[a], p.CID[b])
		})
		if int(r.PoolSize) != len(pool) {
			t.Fatalf("%s %s %s: pool %d want %d", r.Setting, r.QID, r.CLang, r.PoolSize, len(pool))
		}
		for i, c := range r.RelCIDs {
			want := slices.Index(pool, cidx[c]) + 1
			if int(r.RelRanks[i]) != want {
				t.Fatalf("%s %s %s: rank of %s = %d want %d", r.Setting, r.QID, r.CLang, c, r.RelRanks[i], want)
			}
		}
		k := 1000
		if r.Setting == Cross {
			k = 7
		}
		if len(r.TopCIDs) != min(k, len(pool)) {
			t.Fatalf("%s %s: top len %d", r.Setting, r.QID, len(r.TopCIDs))
		}
		for i, c := range r.TopCIDs {
			if p.CID[pool[i]] != c {
				t.Fatalf("%s %s %s: top[%d] = %s want %s", r.Setting, r.QID, r.CLang, i, c, p.CID[pool[i]])
			}
		}
	}
	// 75 queries: 75 mono rows, 150 cross rows, 75 multi rows
	if counts[Mono] != 75 || counts[Cross] != 150 || counts[Multi] != 75 {
		t.Fatalf("row counts %v", counts)
	}
}

func TestRankingsRoundTrip(t *testing.T) {
	// 3 languages x 250 groups: 3,000 rows, several Arrow batches
	p, ds, _ := loadSynthetic(t, []string{"en", "th", "zh"}, 250, 3)
	rows := collect(t, p, ds.Embed(8, 0.5, 0.2, 3), RetrieveOptions{RunID: "enc[x=1]", K: 40, CrossK: 2})
	path := filepath.Join(t.TempDir(), RankingsFile)
	w, err := CreateRankings(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	var got []Ranking
	if err := ReadRankings(path, func(b []Ranking) error {
		for _, r := range b {
			got = append(got, r)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(rows) {
		t.Fatalf("got %d rows want %d", len(got), len(rows))
	}
	for i := range rows {
		if fmt.Sprint(got[i]) != fmt.Sprint(rows[i]) {
			t.Fatalf("row %d: got %+v want %+v", i, got[i], rows[i])
		}
	}
}

func find(rows []tables.Metric, setting, q, c, metric string) (tables.Metric, bool) {
	for _, r := range rows {
		if r.Setting == setting && r.QLang == q && r.CLang == c && r.Metric == metric {
			return r, true
		}
	}
	return tables.Metric{}, false
}

// TestEvaluateAggregation checks per-cell means, cross per-language means
// and macro averages on hand-made rankings.
func TestEvaluateAggregation(t *testing.T) {
	mk := func(setting, qid, ql, cl string, ranks []int32, langs []string) Ranking {
		r := Ranking{RunID: "r", Dataset: "d", Setting: setting, QID: qid, QLang: ql, CLang: cl, PoolSize: 100}
		for i, rk := range ranks {
			r.RelRanks = append(r.RelRanks, rk)
			r.RelGrades = append(r.RelGrades, 1)
			r.RelCIDs = append(r.RelCIDs, fmt.Sprint("c", i))
			r.RelLangs = append(r.RelLangs, langs[i])
			r.RelScores = append(r.RelScores, 0)
		}
		r.TopCIDs = []string{"t1", "t2", "t3", "t4"}
		r.TopScores = make([]float32, 4)
		return r
	}
	rows := []Ranking{
		mk(Mono, "q1", "en", "en", []int32{1}, []string{"en"}),
		mk(Mono, "q2", "en", "en", []int32{2}, []string{"en"}),
		mk(Mono, "q3", "de", "de", []int32{4}, []string{"de"}),
		mk(Cross, "q1", "en", "de", []int32{1}, []string{"de"}),
		mk(Cross, "q1", "en", "zh", []int32{2}, []string{"zh"}),
		mk(Cross, "q3", "de", "en", []int32{1}, []string{"en"}),
		mk(Multi, "q1", "en", All, []int32{1, 3}, []string{"en", "de"}),
		mk(Multi, "q3", "de", All, []int32{2, 12}, []string{"en", "de"}),
	}
	specs, _ := metrics.ParseAll([]string{"map", "r@1"})
	ev := NewEvaluator(specs, true, map[string]string{"t1": "en", "t2": "en", "t3": "de", "t4": "zh"}, []string{"de", "en", "zh"}, nil)
	for i := range rows {
		if err := ev.Add(&rows[i]); err != nil {
			t.Fatal(err)
		}
	}
	got := ev.Metrics()
	for _, c := range []struct {
		setting, q, c, metric string
		want                  float64
		n                     int64
	}{
		{Mono, "en", "en", "map", 0.75, 2},
		{Mono, "de", "de", "map", 0.25, 1},
		{Mono, All, All, "map", 0.5, 3},
		{Mono, All, All, "r@1", 0.25, 3},
		{Cross, "en", "zh", "map", 0.5, 1},
		{Cross, "en", All, "map", 0.75, 2},
		{Cross, "de", All, "map", 1, 1},
		{Cross, All, All, "map", 0.875, 3},
		{Multi, "en", All, "rd", 2, 1},
		{Multi, All, All, "rd", 6, 2},
		{Multi, All, All, MetricSameLangFirst, 0.5, 2},
		{Multi, "de", "de", MetricMeanRank, 12, 1},
		{Multi, All, "de", MetricMeanRank, 7.5, 2},
		{Multi, All, "en", MetricTop10Share, 0.5, 2},
		{Multi, All, "zh", MetricTop10Share, 0.25, 2},
	} {
		m, ok := find(got, c.setting, c.q, c.c, c.metric)
		if !ok {
			t.Errorf("missing %s %s %s %s", c.setting, c.q, c.c, c.metric)
			continue
		}
		if math.Abs(m.Value-c.want) > 1e-12 || m.N != c.n {
			t.Errorf("%s %s %s %s = %v (n %d), want %v (n %d)", c.setting, c.q, c.c, c.metric, m.Value, m.N, c.want, c.n)
		}
	}
	for i := 0; i < 20; i++ { // bit-for-bit the same on every call (no map-order float sums)
		if again := ev.Metrics(); fmt.Sprint(again) != fmt.Sprint(got) {
			t.Fatal("Metrics() differs between calls")
		}
	}
	if _, ok := find(got, Mono, "en", All, "map"); ok {
		t.Error("mono has a redundant per-language c_lang=all row")
	}
}

// trecMAP computes trec_eval's "map" from TREC run and qrels files:
// documents sorted by score descending, ties by docno descending (as
// trec_eval does); AP over all relevant documents of the query in qrels;
// averaged over queries that are in both files.
func trecMAP(t *testing.T, runPath, qrelsPath string) float64 {
	rel := map[string]map[string]bool{}
	f, err := os.Open(qrelsPath)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		g, _ := strconv.Atoi(fs[3])
		if rel[fs[0]] == nil {
			rel[fs[0]] = map[string]bool{}
		}
		if g > 0 {
			rel[fs[0]][fs[2]] = true
		}
	}
	f.Close()
	type doc struct {
		id    string
		score float64
	}
	run := map[string][]doc{}
	f, err = os.Open(runPath)
	if err != nil {
		t.Fatal(err)
	}
	sc = bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		s, _ := strconv.ParseFloat(fs[4], 64)
		run[fs[0]] = append(run[fs[0]], doc{fs[2], s})
	}
	f.Close()
	sum, n := 0.0, 0
	for q, docs := range run {
		if len(rel[q]) == 0 {
			continue
		}
		sort.Slice(docs, func(i, j int) bool {
			if docs[i].score != docs[j].score {
				return docs[i].score > docs[j].score
			}
			return docs[i].id > docs[j].id
		})
		hits, ap := 0, 0.0
		for i, d := range docs {
			if rel[q][d.id] {
				hits++
				ap += float64(hits) / float64(i+1)
			}
		}
		sum += ap / float64(len(rel[q]))
		n++
	}
	return sum / float64(n)
}

// gunzipFile decompresses path (a .gz file) beside it and returns the
// decompressed file's path.
func gunzipFile(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	out := strings.TrimSuffix(path, ".gz")
	if err := os.WriteFile(out, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestTRECMap writes a full-depth run and qrels to testdata/trec (golden,
// the run decompressed; check with `trec_eval -m map
// testdata/trec/synth.multi.qrels testdata/trec/synth.multi.run`) and
// checks that lair's map equals trec_eval's on them.
func TestTRECMap(t *testing.T) {
	p, ds, _ := loadSynthetic(t, []string{"en", "de", "zh"}, 8, 6)
	rows := collect(t, p, ds.Embed(12, 1.2, 0.8, 5), RetrieveOptions{Settings: []string{Multi, Mono}, K: 1000})
	dir := t.TempDir()
	tw, err := NewTRECWriter(dir, 1000)
	if err != nil {
		t.Fatal(err)
	}
	specs, _ := metrics.ParseAll([]string{"map"})
	var perQuery []tables.PerQuery
	ev := NewEvaluator(specs, false, nil, nil, func(r []tables.PerQuery) error { perQuery = append(perQuery, r...); return nil })
	for i := range rows {
		if err := tw.Add(&rows[i]); err != nil {
			t.Fatal(err)
		}
		if err := ev.Add(&rows[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := ev.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	for _, setting := range []string{Multi, Mono} {
		// lair's map, micro-averaged over queries like trec_eval
		sum, n := 0.0, 0
		for _, pq := range perQuery {
			if pq.Setting == setting && pq.Metric == "map" {
				sum += pq.Value
				n++
			}
		}
		lair := sum / float64(n)
		base := "synth." + setting
		runPath, qrelsPath := gunzipFile(t, filepath.Join(dir, base+".run.gz")), filepath.Join(dir, base+".qrels")
		golden := filepath.Join("testdata", "trec", base)
		for _, ext := range []string{".run", ".qrels"} {
			got, _ := os.ReadFile(filepath.Join(dir, base+ext))
			if *update {
				os.WriteFile(golden+ext, got, 0o644)
			}
			want, err := os.ReadFile(golden + ext)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if string(got) != string(want) {
				t.Errorf("%s differs from golden (run with -update after checking)", golden+ext)
			}
		}
		te := trecMAP(t, runPath, qrelsPath)
		if math.Abs(te-lair) > 1e-12 { // trec_eval's order is lair's: the same map
			t.Errorf("%s: trec_eval-style map %.6f, lair map %.6f", setting, te, lair)
		}
		mapFile := golden + ".map"
		line := fmt.Sprintf("map\tall\t%.4f\n", lair)
		if *update {
			os.WriteFile(mapFile, []byte(line), 0o644)
		}
		if want, _ := os.ReadFile(mapFile); string(want) != line {
			t.Errorf("%s: %q, lair computes %q", mapFile, want, line)
		}
		if te, err := exec.LookPath("trec_eval"); err == nil {
			out, err := exec.Command(te, "-m", "map", qrelsPath, runPath).Output()
			if err != nil {
				t.Fatal(err)
			}
			if fs := strings.Fields(string(out)); len(fs) < 3 || fs[2] != fmt.Sprintf("%.4f", lair) {
				t.Errorf("trec_eval says %q, lair %.4f", out, lair)
			}
		}
	}
}

func TestBadInput(t *testing.T) {
	p, ds, dir := loadSynthetic(t, []string{"en", "de"}, 4, 2)
	e := ds.Embed(8, 0.5, 0.1, 1)
	// missing query vector
	bad := *e
	bad.IDs = slices.Clone(e.IDs)
	bad.IDs[0] = "nope"
	if _, err := DenseScorer(p, &bad, "emb.arrow", true); err == nil || !strings.Contains(err.Error(), "emb.arrow: no query vector for qid") || !strings.Contains(err.Error(), "queries.parquet row 0") {
		t.Errorf("missing id: %v", err)
	}
	// NaN and zero vectors are reported, not fatal (see TestDegenerateVectors)
	bad = *e
	bad.Vectors = slices.Clone(e.Vectors)
	bad.Vectors[3*8+2] = float32(math.NaN())
	clear(bad.Vectors[5*8 : 6*8])
	if sc, err := DenseScorer(p, &bad, "emb.arrow", true); err != nil || len(sc.Bad) != 2 || sc.Bad[0].Row != 3 || sc.Bad[1].Row != 5 {
		t.Errorf("NaN and zero vectors: %v, %v", err, sc)
	}
	// language mismatch
	bad = *e
	bad.Langs = slices.Clone(e.Langs)
	bad.Langs[1] = "zh"
	if _, err := DenseScorer(p, &bad, "emb.arrow", true); err == nil || !strings.Contains(err.Error(), "emb.arrow row 1") {
		t.Errorf("lang mismatch: %v", err)
	}
	// empty language in the dataset
	qs := slices.Clone(ds.Queries)
	qs[2].Lang = ""
	if err := tables.Write(filepath.Join(dir, datasets.QueriesFile), qs, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := datasets.ReadChecked(dir); err == nil || !strings.Contains(err.Error(), "queries.parquet row 2") || !strings.Contains(err.Error(), "empty lang") {
		t.Errorf("empty lang: %v", err)
	}
	// qrels naming an unknown candidate
	if err := tables.Write(filepath.Join(dir, datasets.QueriesFile), ds.Queries, nil); err != nil {
		t.Fatal(err)
	}
	qr := slices.Clone(ds.Qrels)
	qr[3].CID = "ghost"
	tables.Write(filepath.Join(dir, datasets.QrelsFile), qr, nil)
	if _, err := datasets.ReadChecked(dir); err == nil || !strings.Contains(err.Error(), "qrels.parquet row 3: cid \"ghost\"") {
		t.Errorf("unknown cid: %v", err)
	}
}

func TestBM25Retrieval(t *testing.T) {
	p, _, _ := loadSynthetic(t, []string{"en", "de", "zh", "th"}, 12, 20)
	perLang, pooled, err := BM25Scorers(p, bm25.DefaultParams, nil, 2)
	if err != nil {
		t.Fatal(err)
	}
	var rows []Ranking
	if _, err := Retrieve(context.Background(), p, perLang, pooled, RetrieveOptions{RunID: "bm25", Threads: 2, QueryBlock: 8}, func(b []Ranking) error {
		rows = append(rows, b...)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	specs, _ := metrics.ParseAll(DefaultLAReQAMetrics)
	ev := NewEvaluator(specs, true, nil, nil, nil)
	for i := range rows {
		if err := ev.Add(&rows[i]); err != nil {
			t.Fatal(err)
		}
	}
	got := ev.Metrics()
	mono, _ := find(got, Mono, All, All, "map")
	same, _ := find(got, Multi, All, All, MetricSameLangFirst)
	if mono.Value < 0.5 {
		t.Errorf("BM25 mono map %v on data built for lexical matching", mono.Value)
	}
	if same.Value < 0.99 {
		t.Errorf("BM25 same-language-first share %v, want ~1 (strong language bias)", same.Value)
	}
}

// FuzzReadRankings feeds corrupt rankings files to ReadRankings: errors
// are fine, panics and invalid rows are not.
func FuzzReadRankings(f *testing.F) {
	path := filepath.Join(f.TempDir(), RankingsFile)
	w, err := CreateRankings(path)
	if err != nil {
		f.Fatal(err)
	}
	w.Write([]Ranking{{RunID: "r", Dataset: "d", Setting: Mono, QID: "q", QLang: "en", CLang: "en", PoolSize: 3,
		RelCIDs: []string{"c"}, RelLangs: []string{"en"}, RelGrades: []int32{1}, RelRanks: []int32{2}, RelScores: []float32{0.5},
		TopCIDs: []string{"a", "c"}, TopScores: []float32{0.9, 0.5}}})
	w.Close()
	b, _ := os.ReadFile(path)
	f.Add(b)
	f.Add([]byte("PAR1"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), RankingsFile)
		os.WriteFile(p, data, 0o644)
		ReadRankings(p, func(rows []Ranking) error {
			for i := range rows {
				if err := rows[i].check(); err != nil {
					t.Fatalf("invalid row passed: %v", err)
				}
			}
			return nil
		})
	})
}

func TestMetricsDeterministic(t *testing.T) {
	specs, _ := metrics.ParseAll([]string{"map"})
	ev := NewEvaluator(specs, false, nil, nil, nil)
	langs := []string{"ar", "de", "el", "en", "es", "hi", "ru", "th", "tr", "vi", "zh"}
	for i, l := range langs {
		for j := 0; j < 3; j++ {
			r := Ranking{RunID: "r", Dataset: "d", Setting: Mono, QID: fmt.Sprint(l, j), QLang: l, CLang: l, PoolSize: 1000,
				RelRanks: []int32{int32(1 + 7*i + 3*j)}, RelGrades: []int32{1}, RelCIDs: []string{"c"}, RelLangs: []string{l}, RelScores: []float32{0}}
			if err := ev.Add(&r); err != nil {
				t.Fatal(err)
			}
		}
	}
	first := fmt.Sprintf("%v", ev.Metrics())
	for i := 0; i < 50; i++ {
		if got := fmt.Sprintf("%v", ev.Metrics()); got != first {
			t.Fatalf("macro average differs between calls:\n%s\n%s", got, first)
		}
	}
}
