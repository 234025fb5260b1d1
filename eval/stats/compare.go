package stats

import (
	"cmp"
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	"sync"

	"github.com/lair-ir/lair/eval/significance"
	"github.com/lair-ir/lair/tables"
)

// Options configure Compare.
type Options struct {
	Permutations int     // randomization test (default 10000)
	Bootstrap    int     // bootstrap resamples (default 1000)
	Level        float64 // confidence level (default 0.95)
	Seed         uint64
	Eps          float64  // tie tolerance for win/tie/loss (default 1e-9)
	Metrics      []string // metrics tested (default all)
	Threads      int
}

func (o *Options) defaults() {
	if o.Permutations == 0 {
		o.Permutations = 10000
	}
	if o.Bootstrap == 0 {
		o.Bootstrap = 1000
	}
	if o.Level == 0 {
		o.Level = 0.95
	}
	if o.Eps == 0 {
		o.Eps = 1e-9
	}
}

// Comparison is one test of run Other against run Base.
type Comparison struct {
	Dataset, Setting, Metric string
	Lang                     string // query language, or "all"
	Base, Other              string
	N                        int
	MeanBase, MeanOther      float64
	Delta                    float64 // MeanOther - MeanBase
	P, PHolm                 float64 // PHolm: Holm-adjusted over the languages of (other, dataset, setting, metric); equals P for "all"
	CILo, CIHi               float64
	Wins, Ties, Losses       int // Other better / equal / worse
}

// Compare tests every other run against base on every (dataset, setting,
// metric) both have, per query language and over all queries, pairing
// per-query rows by query (cross: averaged over candidate languages). It
// reads one (run, dataset, setting) slice of base and one of the other
// run at a time.
func Compare(ctx context.Context, ix *tables.PerQueryIndex, base string, others []string, opt Options) ([]Comparison, error) {
	opt.defaults()
	wantMetric := map[string]bool{}
	for _, m := range opt.Metrics {
		wantMetric[m] = true
	}
	keep := func(m string) bool { return len(wantMetric) == 0 || wantMetric[m] }
	if !ix.HasRun(base) {
		return nil, fmt.Errorf("significance: baseline run %q has no per-query rows (runs: %v)", base, ix.Runs())
	}
	for _, o := range others {
		if !ix.HasRun(o) {
			return nil, fmt.Errorf("significance: run %q has no per-query rows", o)
		}
	}
	var baseSlices []tables.Slice
	for _, s := range ix.Slices() {
		if s.RunID == base {
			baseSlices = append(baseSlices, s)
		}
	}
	slices.SortFunc(baseSlices, func(a, b tables.Slice) int {
		return cmp.Or(cmp.Compare(a.Dataset, b.Dataset), cmp.Compare(a.Setting, b.Setting))
	})
	var out []Comparison
	for _, bs := range baseSlices {
		var bm map[unit]*agg
		for _, other := range others {
			os := tables.Slice{RunID: other, Dataset: bs.Dataset, Setting: bs.Setting}
			if !ix.Has(os) {
				continue
			}
			if bm == nil {
				var err error
				if bm, err = loadUnits(ctx, ix, bs, keep); err != nil {
					return nil, err
				}
			}
			om, err := loadUnits(ctx, ix, os, keep)
			if err != nil {
				return nil, err
			}
			out = append(out, compareSlice(bs, other, bm, om, opt)...)
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
	}
	// Holm across languages within (other, dataset, setting, metric).
	type fam struct{ other, dataset, setting, metric string }
	groups := map[fam][]int{}
	for i, c := range out {
		if c.Lang == "all" {
			out[i].PHolm = c.P
			continue
		}
		f := fam{c.Other, c.Dataset, c.Setting, c.Metric}
		groups[f] = append(groups[f], i)
	}
	for _, idx := range groups {
		ps := make([]float64, len(idx))
		for j, i := range idx {
			ps[j] = out[i].P
		}
		for j, adj := range significance.Holm(ps) {
			out[idx[j]].PHolm = adj
		}
	}
	slices.SortFunc(out, func(x, y Comparison) int {
		lx, ly := x.Lang, y.Lang
		if lx == "all" {
			lx = ""
		}
		if ly == "all" {
			ly = ""
		}
		return cmp.Or(cmp.Compare(x.Other, y.Other), cmp.Compare(x.Dataset, y.Dataset), cmp.Compare(x.Setting, y.Setting), cmp.Compare(x.Metric, y.Metric), cmp.Compare(lx, ly))
	})
	return out, nil
}

// compareSlice runs the tests of one (dataset, setting) between base's
// units bm and other's units om: one family per (metric, language) and
// per metric over all languages.
func compareSlice(bs tables.Slice, other string, bm, om map[unit]*agg, opt Options) []Comparison {
	type famKey struct{ metric, lang string }
	type job struct {
		fam  famKey
		a, b []float64
	}
	var ks []unit
	for k := range bm {
		if _, ok := om[k]; ok {
			ks = append(ks, k)
		}
	}
	slices.SortFunc(ks, func(x, y unit) int {
		return cmp.Or(cmp.Compare(x.metric, y.metric), cmp.Compare(x.lang, y.lang), cmp.Compare(x.qid, y.qid))
	})
	pairs := map[famKey]*job{}
	var jobs []*job
	for _, k := range ks {
		va, vb := bm[k].mean(), om[k].mean()
		for _, lang := range []string{k.lang, "all"} {
			f := famKey{k.metric, lang}
			j := pairs[f]
			if j == nil {
				j = &job{fam: f}
				pairs[f] = j
				jobs = append(jobs, j)
			}
			j.a = append(j.a, vb)
			j.b = append(j.b, va)
		}
	}
	out := make([]Comparison, len(jobs))
	parallel(len(jobs), opt.Threads, func(i int) {
		j := jobs[i]
		h := fnv.New64a()
		fmt.Fprint(h, other, "|", bs.Dataset, "|", bs.Setting, "|", j.fam.metric, "|", j.fam.lang)
		seed := opt.Seed ^ h.Sum64()
		c := Comparison{Dataset: bs.Dataset, Setting: bs.Setting, Metric: j.fam.metric, Lang: j.fam.lang,
			Base: bs.RunID, Other: other, N: len(j.a), MeanOther: Mean(j.a), MeanBase: Mean(j.b)}
		c.Delta = c.MeanOther - c.MeanBase
		c.P = significance.Randomization(j.a, j.b, opt.Permutations, seed)
		c.CILo, c.CIHi = significance.Bootstrap(j.a, j.b, opt.Bootstrap, opt.Level, seed+1)
		c.Wins, c.Ties, c.Losses = significance.WinTieLoss(j.a, j.b, opt.Eps)
		out[i] = c
	})
	return out
}

// parallel runs fn(0..n-1) on threads goroutines.
func parallel(n, threads int, fn func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for range max(1, threads) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
}
