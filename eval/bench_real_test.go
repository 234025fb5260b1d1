package eval

import (
	"context"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/lair-ir/lair/datasets"
	"github.com/lair-ir/lair/datasets/lareqa"
	"github.com/lair-ir/lair/eval/bm25"
	"github.com/lair-ir/lair/eval/metrics"
	"github.com/lair-ir/lair/internal/testenv"
)

// BenchmarkBM25Real runs BM25 on the real XQuAD-R and MLQA-R (from the
// raw data mirror) in all three settings and evaluates them.
func BenchmarkBM25Real(b *testing.B) {
	raw := testenv.RawDir(b)
	for _, spec := range []lareqa.Spec{lareqa.XQuADR, lareqa.MLQAR} {
		b.Run(spec.Name, func(b *testing.B) {
			res, err := lareqa.LoadDir(context.Background(), spec, filepath.Join(raw, spec.Name), spec.Languages)
			if err != nil {
				b.Skip(err)
			}
			ds := &datasets.Dataset{Meta: datasets.Meta{Dataset: spec.Name}, Queries: res.Queries, Candidates: res.Candidates, Qrels: res.Qrels}
			if err := ds.Check(); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				p := Prepare(ds)
				perLang, pooled, err := BM25Scorers(p, bm25.DefaultParams, nil, 2)
				if err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				specs, _ := metrics.ParseAll(DefaultLAReQAMetrics)
				ev := NewEvaluator(specs, true, nil, nil, nil)
				st, err := Retrieve(context.Background(), p, perLang, pooled, RetrieveOptions{Threads: runtime.GOMAXPROCS(0), QueryBlock: 16},
					func(rows []Ranking) error {
						for i := range rows {
							if err := ev.Add(&rows[i]); err != nil {
								return err
							}
						}
						return nil
					})
				if err != nil {
					b.Fatal(err)
				}
				ms := ev.Metrics()
				t2 := time.Now()
				if i == 0 {
					b.Logf("%s: %d queries x %d candidates; index %.2fs, retrieve+evaluate %.2fs; rows %v", spec.Name, len(ds.Queries), len(ds.Candidates),
						t1.Sub(t0).Seconds(), t2.Sub(t1).Seconds(), st.Rows)
					for _, m := range ms {
						if m.QLang == All && m.CLang == All && (m.Metric == "map" || m.Metric == MetricRD || m.Metric == MetricSameLangFirst) {
							b.Logf("  %s %s = %.4f", m.Setting, m.Metric, m.Value)
						}
					}
				}
			}
		})
	}
}
