package stats

import (
	"cmp"
	"context"
	"fmt"
	"hash/fnv"
	"slices"

	"github.com/lair-ir/lair/eval/significance"
	"github.com/lair-ir/lair/tables"
)

// Interval is the macro average of one metric over query languages (the
// q_lang "all", c_lang "all" cell of metrics.parquet) of one run on one
// dataset in one setting, with its bootstrap confidence interval.
type Interval struct {
	Run, Dataset, Setting, Metric string
	N                             int     // queries
	Langs                         int     // query languages
	Mean                          float64 // macro average: mean over query languages of the per-language means
	Lo, Hi                        float64 // bootstrap interval (NaN when Bootstrap <= 0)
}

// IntervalOptions configure MacroIntervals.
type IntervalOptions struct {
	Setting   string   // the setting whose slices are read (e.g. "multi")
	Metrics   []string // the metrics (per-query rows with c_lang "all")
	Bootstrap int      // resamples (default 1000)
	Level     float64  // confidence level (default 0.95)
	Seed      uint64
}

// MacroIntervals computes, for every run and dataset with per-query rows
// in opt.Setting, the macro average of each of opt.Metrics over query
// languages and its stratified bootstrap interval (queries resampled
// within each query language, significance.BootstrapMacroMean). It reads
// one (run, dataset, setting) slice at a time and keeps only the values
// of the requested metrics of that slice. Only rows with c_lang "all"
// (one value per query) count. Results are sorted by dataset, run,
// metric.
func MacroIntervals(ctx context.Context, ix *tables.PerQueryIndex, opt IntervalOptions) ([]Interval, error) {
	if opt.Setting == "" || len(opt.Metrics) == 0 {
		return nil, fmt.Errorf("intervals: a setting and at least one metric are needed (got setting %q, metrics %v)", opt.Setting, opt.Metrics)
	}
	if opt.Bootstrap == 0 {
		opt.Bootstrap = 1000
	}
	if opt.Level == 0 {
		opt.Level = 0.95
	}
	var out []Interval
	for _, s := range ix.Slices() {
		if s.Setting != opt.Setting {
			continue
		}
		// metric -> query language -> per-query values
		vals := map[string]map[string][]float64{}
		err := ix.Read(ctx, s, func(rows []tables.PerQuery) error {
			for i := range rows {
				r := &rows[i]
				if r.CLang != "all" || !slices.Contains(opt.Metrics, r.Metric) {
					continue
				}
				byLang := vals[r.Metric]
				if byLang == nil {
					byLang = map[string][]float64{}
					vals[r.Metric] = byLang
				}
				byLang[r.Lang] = append(byLang[r.Lang], r.Value)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("intervals: %s: %w", s, err)
		}
		for _, m := range opt.Metrics {
			byLang := vals[m]
			if len(byLang) == 0 {
				continue
			}
			iv := Interval{Run: s.RunID, Dataset: s.Dataset, Setting: s.Setting, Metric: m, Langs: len(byLang)}
			iv.Mean, iv.N = macroMean(byLang)
			h := fnv.New64a()
			fmt.Fprint(h, s.RunID, "|", s.Dataset, "|", s.Setting, "|", m)
			iv.Lo, iv.Hi = significance.BootstrapMacroMean(byLang, opt.Bootstrap, opt.Level, opt.Seed^h.Sum64())
			out = append(out, iv)
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(out, func(a, b Interval) int {
		return cmp.Or(cmp.Compare(a.Dataset, b.Dataset), cmp.Compare(a.Run, b.Run), cmp.Compare(a.Setting, b.Setting), cmp.Compare(a.Metric, b.Metric))
	})
	return out, nil
}

// macroMean is the mean over groups of each group's mean, and the number
// of values.
func macroMean(groups map[string][]float64) (mean float64, n int) {
	names := make([]string, 0, len(groups))
	for g := range groups {
		names = append(names, g)
	}
	slices.Sort(names) // a fixed summation order: the same bits on every run
	k := 0
	for _, g := range names {
		v := groups[g]
		if len(v) == 0 {
			continue
		}
		mean += Mean(v)
		n += len(v)
		k++
	}
	return mean / float64(k), n
}
