// Command compare runs the paired tests lair's report uses on two systems
// of a per_query.parquet: for each (dataset, metric) asked for, the mean of
// each system over the queries both have, the difference, the paired
// randomization test's p and the bootstrap 95% interval of the difference.
// It answers questions the report's baseline comparison does not (e.g.
// fusion against BM25 when the baseline is tiny-hybrid):
//
//	go run ./bench/compare -a bm25 -b bm25+tiny-hybrid -setting multi -metrics map,rd PER_QUERY.parquet
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/lair-ir/lair/eval/significance"
	"github.com/lair-ir/lair/tables"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(2)
	}
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	a := fs.String("a", "", "first run_id (required)")
	b := fs.String("b", "", "second run_id (required)")
	setting := fs.String("setting", "multi", "mono, cross or multi")
	metricList := fs.String("metrics", "map,rd", "comma-separated metrics")
	perms := fs.Int("permutations", 10000, "randomization test permutations")
	boot := fs.Int("bootstrap", 1000, "bootstrap resamples")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *a == "" || *b == "" || fs.NArg() != 1 {
		return fmt.Errorf("usage: compare -a RUN -b RUN [-setting S] [-metrics m1,m2] PER_QUERY.parquet")
	}
	metrics := strings.Split(*metricList, ",")
	type key struct{ dataset, metric, qid, clang string }
	vals := map[string]map[key]float64{*a: {}, *b: {}}
	err := tables.ReadPerQuery(context.Background(), fs.Arg(0), func(rows []tables.PerQuery) error {
		for _, r := range rows {
			m, ok := vals[r.RunID]
			if !ok || r.Setting != *setting || !slices.Contains(metrics, r.Metric) {
				continue
			}
			m[key{r.Dataset, r.Metric, r.QID, r.CLang}] = r.Value
		}
		return nil
	})
	if err != nil {
		return err
	}
	type cell struct{ dataset, metric string }
	pairs := map[cell][2][]float64{}
	for k, va := range vals[*a] {
		vb, ok := vals[*b][k]
		if !ok {
			continue
		}
		c := cell{k.dataset, k.metric}
		p := pairs[c]
		p[0], p[1] = append(p[0], va), append(p[1], vb)
		pairs[c] = p
	}
	if len(pairs) == 0 {
		return fmt.Errorf("%s: no queries that both %q and %q have in setting %s for %v", fs.Arg(0), *a, *b, *setting, metrics)
	}
	cells := make([]cell, 0, len(pairs))
	for c := range pairs {
		cells = append(cells, c)
	}
	slices.SortFunc(cells, func(x, y cell) int { return strings.Compare(x.dataset+x.metric, y.dataset+y.metric) })
	fmt.Fprintf(out, "| dataset | %s metric | queries | %s | %s | difference (b - a) | 95%% CI | p (randomization) |\n|---|---|---:|---:|---:|---:|---|---:|\n", *setting, *a, *b)
	for _, c := range cells {
		p := pairs[c]
		// the map order of the pairs does not matter to the tests, but fix it for reproducibility
		idx := make([]int, len(p[0]))
		for i := range idx {
			idx[i] = i
		}
		slices.SortFunc(idx, func(i, j int) int {
			if p[0][i] != p[0][j] {
				if p[0][i] < p[0][j] {
					return -1
				}
				return 1
			}
			if p[1][i] < p[1][j] {
				return -1
			} else if p[1][i] > p[1][j] {
				return 1
			}
			return 0
		})
		x, y := make([]float64, len(idx)), make([]float64, len(idx))
		for i, j := range idx {
			x[i], y[i] = p[0][j], p[1][j]
		}
		ma, mb := mean(x), mean(y)
		lo, hi := significance.Bootstrap(y, x, *boot, 0.95, 1)
		pv := significance.Randomization(y, x, *perms, 1)
		fmt.Fprintf(out, "| %s | %s | %d | %.4f | %.4f | %+.4f | [%+.4f, %+.4f] | %.4f |\n", c.dataset, c.metric, len(x), ma, mb, mb-ma, lo, hi, pv)
	}
	return nil
}

func mean(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}
