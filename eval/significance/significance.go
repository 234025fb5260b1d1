package significance

import (
	"cmp"
	"fmt"
	"hash/fnv"
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
	"sync"

	"github.com/lair-ir/lair/tables"
)

// Randomization returns the two-sided p-value of the paired randomization
// test of mean(a) = mean(b): the share of n random sign flips of the
// differences whose |sum| is at least the observed one, as (count+1)/(n+1).
func Randomization(a, b []float64, n int, seed uint64) float64 {
	d := diffs(a, b)
	if len(d) == 0 || n <= 0 {
		return 1
	}
	obs := 0.0
	for _, x := range d {
		obs += x
	}
	obs = math.Abs(obs)
	tol := 1e-12 * math.Max(1, obs)
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	count := 0
	for it := 0; it < n; it++ {
		s := 0.0
		for i := 0; i < len(d); i += 64 {
			bitsLeft := r.Uint64()
			end := min(i+64, len(d))
			for j := i; j < end; j++ {
				// branch-free sign: +d when the bit is 0, -d when 1
				sign := float64(1 - 2*int(bitsLeft&1))
				s += sign * d[j]
				bitsLeft >>= 1
			}
		}
		if math.Abs(s) >= obs-tol {
			count++
		}
	}
	return float64(count+1) / float64(n+1)
}

// Bootstrap returns the percentile confidence interval, at the given
// level (e.g. 0.95), of mean(a-b) from n resamples of the queries.
func Bootstrap(a, b []float64, n int, level float64, seed uint64) (lo, hi float64) {
	d := diffs(a, b)
	if len(d) == 0 || n <= 0 {
		return math.NaN(), math.NaN()
	}
	r := rand.New(rand.NewPCG(seed, 0xb007))
	means := make([]float64, n)
	m := uint64(len(d))
	for it := range means {
		s := 0.0
		for range d {
			hi, _ := bits.Mul64(r.Uint64(), m)
			s += d[hi]
		}
		means[it] = s / float64(len(d))
	}
	slices.Sort(means)
	alpha := (1 - level) / 2
	q := func(p float64) float64 {
		i := int(math.Floor(p * float64(n-1)))
		return means[max(0, min(n-1, i))]
	}
	return q(alpha), q(1 - alpha)
}

// WinTieLoss counts queries where a > b, a == b (within eps) and a < b.
func WinTieLoss(a, b []float64, eps float64) (wins, ties, losses int) {
	for i := range a {
		switch d := a[i] - b[i]; {
		case d > eps:
			wins++
		case d < -eps:
			losses++
		default:
			ties++
		}
	}
	return
}

// Holm returns Holm's step-down adjusted p-values (same order as p).
func Holm(p []float64) []float64 {
	m := len(p)
	idx := make([]int, m)
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(p[a], p[b]) })
	out := make([]float64, m)
	running := 0.0
	for rank, i := range idx {
		v := math.Min(1, float64(m-rank)*p[i])
		running = math.Max(running, v)
		out[i] = running
	}
	return out
}

func diffs(a, b []float64) []float64 {
	d := make([]float64, len(a))
	for i := range a {
		d[i] = a[i] - b[i]
	}
	return d
}

// Options configure Compare.
type Options struct {
	Permutations int     // randomization test (default 10000)
	Bootstrap    int     // bootstrap resamples (default 1000)
	Level        float64 // confidence level (default 0.95)
	Seed         uint64
	Eps          float64 // tie tolerance for win/tie/loss (default 1e-9)
	Metrics      []string
	Threads      int
}

// Comparison is one test of run Other against run Base.
type Comparison struct {
	Dataset, Setting, Metric string
	Lang                     string // query language, or "all"
	Base, Other              string
	N                        int
	MeanBase, MeanOther      float64
	Delta                    float64 // MeanOther - MeanBase
	P, PHolm                 float64 // PHolm: Holm-adjusted over the languages of (dataset, setting, metric); equals P for "all"
	CILo, CIHi               float64
	Wins, Ties, Losses       int // Other better / equal / worse
}

type unitKey struct{ dataset, setting, metric, lang, qid string }

// Compare tests every other run against base on every (dataset, setting,
// metric) both have, per query language and over all queries, pairing
// per-query rows by qid (cross: averaged over candidate languages).
func Compare(rows []tables.PerQuery, base string, others []string, opt Options) ([]Comparison, error) {
	if opt.Permutations == 0 {
		opt.Permutations = 10000
	}
	if opt.Bootstrap == 0 {
		opt.Bootstrap = 1000
	}
	if opt.Level == 0 {
		opt.Level = 0.95
	}
	if opt.Eps == 0 {
		opt.Eps = 1e-9
	}
	wantMetric := map[string]bool{}
	for _, m := range opt.Metrics {
		wantMetric[m] = true
	}
	type agg struct {
		sum float64
		n   int
	}
	byRun := map[string]map[unitKey]*agg{}
	for _, r := range rows {
		if len(wantMetric) > 0 && !wantMetric[r.Metric] {
			continue
		}
		if r.CLang != r.Lang && r.CLang != "all" && r.Setting != "cross" {
			continue // per-candidate-language bias rows are not query units
		}
		if r.Metric == "mean_rank" {
			continue // a rank per candidate language: no "better" direction for one query
		}
		m := byRun[r.RunID]
		if m == nil {
			m = map[unitKey]*agg{}
			byRun[r.RunID] = m
		}
		k := unitKey{r.Dataset, r.Setting, r.Metric, r.Lang, r.QID}
		a := m[k]
		if a == nil {
			a = &agg{}
			m[k] = a
		}
		a.sum += r.Value
		a.n++
	}
	bm, ok := byRun[base]
	if !ok {
		return nil, fmt.Errorf("significance: baseline run %q has no per-query rows (runs: %v)", base, keys(byRun))
	}
	type famKey struct{ dataset, setting, metric, lang string }
	type job struct {
		other string
		fam   famKey
		a, b  []float64
	}
	var jobs []job
	for _, other := range others {
		om, ok := byRun[other]
		if !ok {
			return nil, fmt.Errorf("significance: run %q has no per-query rows", other)
		}
		pairs := map[famKey][2][]float64{}
		var ks []unitKey
		for k := range bm {
			if _, ok := om[k]; ok {
				ks = append(ks, k)
			}
		}
		slices.SortFunc(ks, func(x, y unitKey) int {
			return cmp.Or(cmp.Compare(x.dataset, y.dataset), cmp.Compare(x.setting, y.setting), cmp.Compare(x.metric, y.metric), cmp.Compare(x.lang, y.lang), cmp.Compare(x.qid, y.qid))
		})
		for _, k := range ks {
			va := bm[k].sum / float64(bm[k].n)
			vb := om[k].sum / float64(om[k].n)
			for _, lang := range []string{k.lang, "all"} {
				f := famKey{k.dataset, k.setting, k.metric, lang}
				p := pairs[f]
				p[0] = append(p[0], vb)
				p[1] = append(p[1], va)
				pairs[f] = p
			}
		}
		for f, p := range pairs {
			jobs = append(jobs, job{other, f, p[0], p[1]})
		}
	}
	out := make([]Comparison, len(jobs))
	var wg sync.WaitGroup
	next := make(chan int)
	for t := 0; t < max(1, opt.Threads); t++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				j := jobs[i]
				h := fnv.New64a()
				fmt.Fprint(h, j.other, "|", j.fam.dataset, "|", j.fam.setting, "|", j.fam.metric, "|", j.fam.lang)
				seed := opt.Seed ^ h.Sum64()
				c := Comparison{Dataset: j.fam.dataset, Setting: j.fam.setting, Metric: j.fam.metric, Lang: j.fam.lang,
					Base: base, Other: j.other, N: len(j.a), MeanOther: mean(j.a), MeanBase: mean(j.b)}
				c.Delta = c.MeanOther - c.MeanBase
				c.P = Randomization(j.a, j.b, opt.Permutations, seed)
				c.CILo, c.CIHi = Bootstrap(j.a, j.b, opt.Bootstrap, opt.Level, seed+1)
				c.Wins, c.Ties, c.Losses = WinTieLoss(j.a, j.b, opt.Eps)
				out[i] = c
			}
		}()
	}
	for i := range jobs {
		next <- i
	}
	close(next)
	wg.Wait()
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
		for j, adj := range Holm(ps) {
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

func mean(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
