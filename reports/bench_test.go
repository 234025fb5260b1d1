package reports

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/lair-ir/lair/tables"
)

// BenchmarkBuildSweep: an XQuAD-R-sized sweep, 5 alphas x 3 seeds, 11
// languages x 1190 queries, per-query rows of mono/cross/multi map and
// r@10 and multi rd (cross: one row per candidate language), 10,000
// permutations per test.
//
//	go test ./reports -run '^$' -bench BuildSweep -benchtime 1x
func BenchmarkBuildSweep(b *testing.B) {
	dir := b.TempDir()
	langs := []string{"ar", "de", "el", "en", "es", "hi", "ru", "th", "tr", "vi", "zh"}
	const perLang = 1190
	var ms []tables.Metric
	var pq []tables.PerQuery
	for ai, alpha := range []string{"0", "0.25", "0.5", "0.75", "1"} {
		for seed := 1; seed <= 3; seed++ {
			run := fmt.Sprintf("tiny[alpha=%s,seed=%d]", alpha, seed)
			for _, setting := range []string{"mono", "cross", "multi"} {
				for _, metric := range []string{"map", "r@10", "rd"} {
					if metric == "rd" && setting != "multi" {
						continue
					}
					for li, l := range langs {
						for q := 0; q < perLang; q++ {
							v := 0.3 + 0.02*float64(ai) + 0.001*float64((q*31+seed*7+li)%97)
							qid := fmt.Sprintf("%s-%d", l, q)
							switch setting {
							case "cross":
								for _, c := range langs {
									if c != l {
										pq = append(pq, tables.PerQuery{RunID: run, Dataset: "xquad-r", Setting: setting, QID: qid, Lang: l, CLang: c, Metric: metric, Value: v})
									}
								}
							case "mono":
								pq = append(pq, tables.PerQuery{RunID: run, Dataset: "xquad-r", Setting: setting, QID: qid, Lang: l, CLang: l, Metric: metric, Value: v})
							default:
								pq = append(pq, tables.PerQuery{RunID: run, Dataset: "xquad-r", Setting: setting, QID: qid, Lang: l, CLang: "all", Metric: metric, Value: v})
							}
						}
					}
					ms = append(ms, tables.Metric{RunID: run, Dataset: "xquad-r", Setting: setting, QLang: "all", CLang: "all", Metric: metric, Value: 0.3 + 0.02*float64(ai), N: 13090})
				}
			}
		}
	}
	mp, pqp := filepath.Join(dir, "metrics.parquet"), filepath.Join(dir, "per_query.parquet")
	if err := tables.Write(mp, ms, nil); err != nil {
		b.Fatal(err)
	}
	if err := tables.Write(pqp, pq, nil); err != nil {
		b.Fatal(err)
	}
	b.Logf("%d per-query rows", len(pq))
	pq = nil
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out := filepath.Join(dir, fmt.Sprint("out", i))
		os.MkdirAll(out, 0o755)
		if err := BuildSweep(context.Background(), SweepInput{MetricsFiles: []string{mp}, PerQueryFiles: []string{pqp}, Threads: 2, Seed: 1}, out); err != nil {
			b.Fatal(err)
		}
	}
}
