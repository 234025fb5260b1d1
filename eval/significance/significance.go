package significance

import (
	"cmp"
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
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

// BootstrapMacroMean returns the percentile confidence interval, at the
// given level, of the macro average over groups (e.g. query languages) of
// the per-group means, resampling the values within each group (a
// stratified bootstrap, n resamples). Groups are taken in sorted order so
// the result is the same on every run.
func BootstrapMacroMean(groups map[string][]float64, n int, level float64, seed uint64) (lo, hi float64) {
	names := make([]string, 0, len(groups))
	for g, v := range groups {
		if len(v) > 0 {
			names = append(names, g)
		}
	}
	if len(names) == 0 || n <= 0 {
		return math.NaN(), math.NaN()
	}
	slices.Sort(names)
	r := rand.New(rand.NewPCG(seed, 0xb008))
	means := make([]float64, n)
	for it := range means {
		macro := 0.0
		for _, g := range names {
			v := groups[g]
			m := uint64(len(v))
			s := 0.0
			for range v {
				hi, _ := bits.Mul64(r.Uint64(), m)
				s += v[hi]
			}
			macro += s / float64(len(v))
		}
		means[it] = macro / float64(len(names))
	}
	slices.Sort(means)
	alpha := (1 - level) / 2
	q := func(p float64) float64 {
		i := int(math.Floor(p * float64(n-1)))
		return means[max(0, min(n-1, i))]
	}
	return q(alpha), q(1 - alpha)
}
