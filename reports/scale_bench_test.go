package reports

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/lair-ir/lair/tables"
)

// peakRSS returns the process's peak resident set (VmHWM) in MiB.
func peakRSS() float64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// BenchmarkSweepScale: report/sweep over LAIR_SWEEP_RUNS runs (default 30)
// of XQuAD-R-sized per-query data (11 languages x 1,190 queries; mono,
// cross (one row per candidate language) and multi; map, r@10 and multi
// rd: 327,000 per-query rows per run), 5 alpha values with RUNS/5 seeds
// each, so that 30 and 120 runs run the same tests and differ only in the
// rows read. The per-query rows are written as eval/lareqa writes them
// (streamed, one file); the benchmark prints the peak RSS after writing
// and after the sweep.
//
//	LAIR_SWEEP_RUNS=120 go test ./reports -run '^$' -bench SweepScale -benchtime 1x
func BenchmarkSweepScale(b *testing.B) {
	runs := 30
	if v := os.Getenv("LAIR_SWEEP_RUNS"); v != "" {
		runs, _ = strconv.Atoi(v)
	}
	dir := b.TempDir()
	langs := []string{"ar", "de", "el", "en", "es", "hi", "ru", "th", "tr", "vi", "zh"}
	const perLang = 1190
	alphas := []string{"0", "0.25", "0.5", "0.75", "1"}
	mp, pqp := filepath.Join(dir, "metrics.parquet"), filepath.Join(dir, "per_query.parquet")
	w, err := tables.CreatePerQuery(pqp, nil)
	if err != nil {
		b.Fatal(err)
	}
	var ms []tables.Metric
	buf := make([]tables.PerQuery, 0, 8192)
	flush := func() {
		if err := w.Write(buf); err != nil {
			b.Fatal(err)
		}
		buf = buf[:0]
	}
	for r := 0; r < runs; r++ {
		ai, seed := r%len(alphas), r/len(alphas)+1
		run := fmt.Sprintf("tiny[alpha=%s,seed=%d]", alphas[ai], seed)
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
									buf = append(buf, tables.PerQuery{RunID: run, Dataset: "xquad-r", Setting: setting, QID: qid, Lang: l, CLang: c, Metric: metric, Value: v})
								}
							}
						case "mono":
							buf = append(buf, tables.PerQuery{RunID: run, Dataset: "xquad-r", Setting: setting, QID: qid, Lang: l, CLang: l, Metric: metric, Value: v})
						default:
							buf = append(buf, tables.PerQuery{RunID: run, Dataset: "xquad-r", Setting: setting, QID: qid, Lang: l, CLang: "all", Metric: metric, Value: v})
						}
						if len(buf) >= 8000 {
							flush()
						}
					}
				}
				ms = append(ms, tables.Metric{RunID: run, Dataset: "xquad-r", Setting: setting, QLang: "all", CLang: "all", Metric: metric, Value: 0.3 + 0.02*float64(ai), N: 13090})
			}
			flush() // one slice per setting, as eval writes them
		}
	}
	rows := w.Rows()
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	if err := tables.Write(mp, ms, nil); err != nil {
		b.Fatal(err)
	}
	st, _ := os.Stat(pqp)
	b.Logf("%d runs: %d per-query rows (%.0f MB); peak RSS after writing: %.0f MiB", runs, rows, float64(st.Size())/1e6, peakRSS())
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out := filepath.Join(dir, fmt.Sprint("out", i))
		os.MkdirAll(out, 0o755)
		in := SweepInput{MetricsFiles: []string{mp}, PerQueryFiles: []string{pqp}, Threads: 2, Seed: 1, Permutations: 1000, Bootstrap: 200}
		if err := BuildSweep(context.Background(), in, out); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.Logf("%d runs: peak RSS after the sweep: %.0f MiB", runs, peakRSS())
}
