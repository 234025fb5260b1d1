package eval

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"

	"github.com/lair-ir/lair/datasets"
	"github.com/lair-ir/lair/eval/metrics"
	"github.com/lair-ir/lair/tables"
)

// EvalConfig configures EvaluateRankings.
type EvalConfig struct {
	Metrics     []string // ranking metrics (see metrics.Parse)
	Bias        bool     // language-bias metrics from multi rankings
	RunDepth    int      // TREC run depth (0: no run files)
	RunSettings []string // settings that get run files (default all)
	RunsDir     string   // where TREC files go
	// PerQueryPath is where the per-query rows are streamed (in bounded
	// row groups, one slice each; "" = not written); PerQueryMeta is its
	// Parquet key/value metadata.
	PerQueryPath string
	PerQueryMeta map[string]string
}

// EvaluateRankings evaluates rankings files against the datasets they
// rank (matched by dataset name) and, with RunDepth > 0, writes TREC run
// and qrels files. Per-query rows go to cfg.PerQueryPath as they are
// produced; memory holds one batch of rankings and the aggregates. It
// returns the metric rows.
func EvaluateRankings(ctx context.Context, rankings []string, dss []*datasets.Dataset, cfg EvalConfig) (ms []tables.Metric, err error) {
	specs, err := metrics.ParseAll(cfg.Metrics)
	if err != nil {
		return nil, err
	}
	byName := map[string]*datasets.Dataset{}
	var names []string
	for _, ds := range dss {
		byName[ds.Name()] = ds
		names = append(names, ds.Name())
	}
	slices.Sort(names)
	// candidate languages, for the top-10 language mix
	candLang := map[string]string{}
	langSet := map[string]bool{}
	pools := map[string]map[string]int{}
	for _, ds := range dss {
		pools[ds.Name()] = map[string]int{}
		for _, c := range ds.Candidates {
			candLang[c.CID] = c.Lang
			langSet[c.Lang] = true
			pools[ds.Name()][c.Lang]++
		}
	}
	var langs []string
	for l := range langSet {
		langs = append(langs, l)
	}
	slices.Sort(langs)
	var sink func([]tables.PerQuery) error
	if cfg.PerQueryPath != "" {
		pw, err := tables.CreatePerQuery(cfg.PerQueryPath, cfg.PerQueryMeta)
		if err != nil {
			return nil, err
		}
		defer func() {
			if cerr := pw.Close(); err == nil && cerr != nil {
				ms, err = nil, cerr
			}
		}()
		sink = pw.Write
	}
	ev := NewEvaluator(specs, cfg.Bias, candLang, langs, sink)
	ev.SetPools(pools)
	var tw *TRECWriter
	if cfg.RunDepth > 0 {
		if tw, err = NewTRECWriter(cfg.RunsDir, cfg.RunDepth); err != nil {
			return nil, err
		}
	}
	for _, path := range rankings {
		err := ReadRankings(path, func(batch []Ranking) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			for i := range batch {
				r := &batch[i]
				if _, ok := byName[r.Dataset]; !ok {
					return fmt.Errorf("%s: rankings of dataset %q, but the dataset inputs are %v; add it to needs", path, r.Dataset, names)
				}
				if err := ev.Add(r); err != nil {
					return err
				}
				if tw != nil && (len(cfg.RunSettings) == 0 || slices.Contains(cfg.RunSettings, r.Setting)) {
					if err := tw.Add(r); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			if tw != nil {
				tw.Close()
			}
			return nil, err
		}
	}
	if err := ev.Flush(); err != nil {
		return nil, err
	}
	if tw != nil {
		if err := tw.Close(); err != nil {
			return nil, fmt.Errorf("write TREC files in %s: %w", filepath.Clean(cfg.RunsDir), err)
		}
	}
	return ev.Metrics(), nil
}
