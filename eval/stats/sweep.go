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

// SweepRun is a run of a sweep: its system (run name plus the labels
// other than x and the replicate) and its x value.
type SweepRun struct {
	ID     string
	System string
	X      float64
	HasX   bool
}

// SweepFamily is one line of a sweep chart: a system's metric on a
// dataset over its x values (ascending). Label names the metric in the
// output ("multi map").
type SweepFamily struct {
	Dataset, System string
	Setting, Metric string
	Label           string
	Xs              []float64
}

// SweepTest is one row of sweep_tests.parquet: a paired test between
// neighbouring x values (per-query values averaged over replicates).
type SweepTest struct {
	Dataset string  `parquet:"dataset,dict"`
	Setting string  `parquet:"setting,dict"` // the system
	Metric  string  `parquet:"metric,dict"`
	XA      float64 `parquet:"x_a"`
	XB      float64 `parquet:"x_b"`
	N       int64   `parquet:"n"` // paired queries
	MeanA   float64 `parquet:"mean_a"`
	MeanB   float64 `parquet:"mean_b"`
	Delta   float64 `parquet:"delta"` // MeanB - MeanA
	P       float64 `parquet:"p"`
	PHolm   float64 `parquet:"p_holm"` // Holm over the neighbouring pairs of (dataset, setting, metric)
	CILo    float64 `parquet:"ci_lo"`
	CIHi    float64 `parquet:"ci_hi"`
}

// SweepOptions configure SweepTests.
type SweepOptions struct {
	Permutations, Bootstrap int
	Seed                    uint64
	Threads                 int
}

type qkey struct{ lang, qid string }

// SweepTests pairs queries between neighbouring x values of every
// family: a query's value is its mean over candidate languages (cross)
// within a run, then over the replicates at that x (summed in run-id
// order). Holm is applied per family across its pairs. Families of one
// (dataset, system, setting) are served by one pass over x: memory holds
// the per-query values of one x (and each family's previous x), never
// those of all runs.
func SweepTests(ctx context.Context, ix *tables.PerQueryIndex, runs []SweepRun, fams []SweepFamily, opt SweepOptions) ([]SweepTest, error) {
	type gkey struct{ dataset, system, setting string }
	var groups []gkey
	byGroup := map[gkey][]int{}
	for i, f := range fams {
		g := gkey{f.Dataset, f.System, f.Setting}
		if _, ok := byGroup[g]; !ok {
			groups = append(groups, g)
		}
		byGroup[g] = append(byGroup[g], i)
	}
	sorted := slices.Clone(runs)
	slices.SortFunc(sorted, func(a, b SweepRun) int { return cmp.Compare(a.ID, b.ID) })
	perFam := make([][]SweepTest, len(fams))
	for _, g := range groups {
		idx := byGroup[g]
		want := map[string]bool{}
		var xs []float64
		for _, i := range idx {
			want[fams[i].Metric] = true
			for _, x := range fams[i].Xs {
				if !slices.Contains(xs, x) {
					xs = append(xs, x)
				}
			}
		}
		slices.Sort(xs)
		prev := make([]map[qkey]float64, len(fams))
		prevX := make([]float64, len(fams))
		for _, x := range xs {
			cur := map[unit]*agg{}
			for _, r := range sorted {
				if !r.HasX || r.System != g.system || r.X != x {
					continue
				}
				s := tables.Slice{RunID: r.ID, Dataset: g.dataset, Setting: g.setting}
				if !ix.Has(s) {
					continue
				}
				m, err := loadUnits(ctx, ix, s, func(metric string) bool { return want[metric] })
				if err != nil {
					return nil, err
				}
				// runs are added in run-id order: the same sums, bit for bit, on every run
				for k, ra := range m {
					a := cur[k]
					if a == nil {
						a = &agg{}
						cur[k] = a
					}
					a.sum += ra.mean()
					a.n++
				}
			}
			type job struct {
				fam    int
				t      SweepTest
				va, vb []float64
				seed   uint64
			}
			var jobs []job
			for _, i := range idx {
				f := &fams[i]
				if !slices.Contains(f.Xs, x) {
					continue
				}
				vals := map[qkey]float64{}
				for k, a := range cur {
					if k.metric == f.Metric {
						vals[qkey{k.lang, k.qid}] = a.mean()
					}
				}
				ma, xa := prev[i], prevX[i]
				prev[i], prevX[i] = vals, x
				if ma == nil {
					continue // the family's first x
				}
				var units []qkey
				for u := range ma {
					if _, ok := vals[u]; ok {
						units = append(units, u)
					}
				}
				if len(units) == 0 {
					continue
				}
				slices.SortFunc(units, func(a, b qkey) int { return cmp.Or(cmp.Compare(a.lang, b.lang), cmp.Compare(a.qid, b.qid)) })
				va, vb := make([]float64, len(units)), make([]float64, len(units))
				for n, u := range units {
					va[n], vb[n] = ma[u], vals[u]
				}
				h := fnv.New64a()
				fmt.Fprint(h, f.Dataset, "|", f.System, "|", f.Label, "|", xa, "|", x)
				t := SweepTest{Dataset: f.Dataset, Setting: f.System, Metric: f.Label, XA: xa, XB: x, N: int64(len(units)), MeanA: Mean(va), MeanB: Mean(vb)}
				t.Delta = t.MeanB - t.MeanA
				jobs = append(jobs, job{i, t, va, vb, opt.Seed ^ h.Sum64()})
			}
			parallel(len(jobs), opt.Threads, func(n int) {
				j := &jobs[n]
				j.t.P = significance.Randomization(j.vb, j.va, opt.Permutations, j.seed)
				j.t.CILo, j.t.CIHi = significance.Bootstrap(j.vb, j.va, opt.Bootstrap, 0.95, j.seed+1)
			})
			for _, j := range jobs {
				perFam[j.fam] = append(perFam[j.fam], j.t)
			}
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
	}
	var out []SweepTest
	for _, ts := range perFam {
		ps := make([]float64, len(ts))
		for n := range ts {
			ps[n] = ts[n].P
		}
		for n, p := range significance.Holm(ps) {
			ts[n].PHolm = p
		}
		out = append(out, ts...)
	}
	return out, nil
}

// SweepMetric is a metric a sweep plots: a setting and a metric, named
// Label in the output ("multi map").
type SweepMetric struct{ Setting, Metric, Label string }

// SweepPoint is one row of sweep.parquet: a sweep point's mean over
// replicates and its band. Band is "t95" (mean ± t-based 95% CI, n ≥ 3),
// "minmax" (n = 2) or "none" (n = 1).
type SweepPoint struct {
	Dataset string  `parquet:"dataset,dict"`
	Setting string  `parquet:"setting,dict"` // the system: run name plus labels other than x and the replicate
	Metric  string  `parquet:"metric,dict"`  // "multi map", "multi rd", ...
	X       float64 `parquet:"x"`
	Mean    float64 `parquet:"mean"`
	Lo      float64 `parquet:"lo"`
	Hi      float64 `parquet:"hi"`
	N       int64   `parquet:"n"`
	Band    string  `parquet:"band,dict"`
}

// SweepRef is a system without an x value (a run without the x label),
// drawn as a horizontal reference: its mean over its runs.
type SweepRef struct {
	Dataset, Name, Metric string
	Value                 float64
	N                     int
}

// SweepPoints aggregates the all-language metric rows (q_lang = c_lang =
// all) of the sweep's runs: per dataset, system, metric and x value the
// mean over replicates and its band (Band), and per system without x its
// mean. Rows of runs not in runs and metrics not in metrics are ignored.
// Both results are sorted by dataset, metric (in the order of metrics),
// system and x.
func SweepPoints(ms []tables.Metric, runs []SweepRun, metrics []SweepMetric) ([]SweepPoint, []SweepRef) {
	byID := make(map[string]SweepRun, len(runs))
	for _, r := range runs {
		byID[r.ID] = r
	}
	rank := map[[2]string]int{}
	label := map[[2]string]string{}
	for i, m := range metrics {
		k := [2]string{m.Setting, m.Metric}
		if _, dup := rank[k]; !dup {
			rank[k], label[k] = i, m.Label
		}
	}
	type pkey struct {
		dataset, system string
		spec            [2]string
		x               float64
	}
	type rkey struct {
		dataset, system string
		spec            [2]string
	}
	points := map[pkey][]float64{}
	refs := map[rkey][]float64{}
	for _, m := range ms {
		spec := [2]string{m.Setting, m.Metric}
		r, known := byID[m.RunID]
		if _, wanted := rank[spec]; !wanted || !known || m.QLang != "all" || m.CLang != "all" {
			continue
		}
		if !r.HasX {
			k := rkey{m.Dataset, r.System, spec}
			refs[k] = append(refs[k], m.Value)
			continue
		}
		k := pkey{m.Dataset, r.System, spec, r.X}
		points[k] = append(points[k], m.Value)
	}
	var out []SweepPoint
	for k, vs := range points {
		mean, lo, hi, kind := Band(vs)
		out = append(out, SweepPoint{Dataset: k.dataset, Setting: k.system, Metric: label[k.spec], X: k.x, Mean: mean, Lo: lo, Hi: hi, N: int64(len(vs)), Band: kind})
	}
	specRank := func(l string) int {
		for _, m := range metrics {
			if m.Label == l {
				return rank[[2]string{m.Setting, m.Metric}]
			}
		}
		return len(metrics)
	}
	slices.SortFunc(out, func(a, b SweepPoint) int {
		return cmp.Or(cmp.Compare(a.Dataset, b.Dataset), cmp.Compare(specRank(a.Metric), specRank(b.Metric)), cmp.Compare(a.Setting, b.Setting), cmp.Compare(a.X, b.X))
	})
	var rl []SweepRef
	for k, vs := range refs {
		mean := 0.0
		for _, v := range vs {
			mean += v
		}
		rl = append(rl, SweepRef{Dataset: k.dataset, Name: k.system, Metric: label[k.spec], Value: mean / float64(len(vs)), N: len(vs)})
	}
	slices.SortFunc(rl, func(a, b SweepRef) int {
		return cmp.Or(cmp.Compare(a.Dataset, b.Dataset), cmp.Compare(specRank(a.Metric), specRank(b.Metric)), cmp.Compare(a.Name, b.Name))
	})
	return out, rl
}
