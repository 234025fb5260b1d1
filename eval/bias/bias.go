package bias

import (
	"fmt"
	"math"
	"sort"
)

// Doc is one document of a query's ranking: its language and relevance
// grade (0 for documents not in the qrels).
type Doc struct {
	Lang  string
	Grade int32
}

// DefaultPEERWeights gives grade 0 and grade 1 half each (see the package
// documentation for why grade 1 alone is degenerate on LAReQA).
var DefaultPEERWeights = map[int32]float64{0: 0.5, 1: 0.5}

// CheckWeights reports whether weights are usable PEER weights: finite,
// non-negative and summing to 1.
func CheckWeights(w map[int32]float64) error {
	var sum float64
	for g, x := range w {
		if x < 0 || math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("PEER weight of grade %d = %v: want a number >= 0", g, x)
		}
		sum += x
	}
	if math.Abs(sum-1) > 1e-9 {
		return fmt.Errorf("PEER weights sum to %v: they must sum to 1", sum)
	}
	return nil
}

// PEER returns PEER@k of one query. top is the ranking's top list (rank
// i+1 at index i; only the first k are used); unretrieved lists the
// relevant documents (grade > 0) not in the top k. The groups of every
// grade are the languages in which that grade occurs; a weighted grade
// with fewer than two languages scores p = 1.
func PEER(top []Doc, unretrieved []Doc, k int, weights map[int32]float64) float64 {
	if k <= 0 || k > len(top) {
		k = len(top)
	}
	type group = map[string][]float64
	byGrade := map[int32]group{0: {}}
	add := func(g int32, lang string, rank float64) {
		if byGrade[g] == nil {
			byGrade[g] = group{}
		}
		byGrade[g][lang] = append(byGrade[g][lang], rank)
	}
	for i, d := range top[:k] {
		add(d.Grade, d.Lang, float64(i+1))
	}
	unret := map[int32]int{}
	for _, d := range unretrieved {
		unret[d.Grade]++
	}
	for _, d := range unretrieved {
		// the U unretrieved documents of a grade share the mean of the positions k+1 .. k+U
		add(d.Grade, d.Lang, float64(k)+float64(unret[d.Grade]+1)/2)
	}
	grades := make([]int32, 0, len(weights))
	for g := range weights {
		grades = append(grades, g)
	}
	sort.Slice(grades, func(i, j int) bool { return grades[i] < grades[j] }) // deterministic sum
	var score float64
	for _, g := range grades {
		w := weights[g]
		if w == 0 {
			continue
		}
		langs := byGrade[g] // a grade with no documents has no groups: p = 1
		names := make([]string, 0, len(langs))
		for l := range langs {
			names = append(names, l)
		}
		sort.Strings(names) // deterministic summation order
		samples := make([][]float64, 0, len(names))
		for _, l := range names {
			samples = append(samples, langs[l])
		}
		_, p := KruskalWallis(samples)
		score += w * p
	}
	return score
}

// KruskalWallis returns the Kruskal-Wallis statistic H = (N-1)·SSG/SSA of
// samples of ranks and its p-value (chi-square tail, groups-1 degrees of
// freedom). Empty samples are dropped; with fewer than two groups left, H
// is NaN and p is 1 (nothing to compare: treated as fair).
func KruskalWallis(samples [][]float64) (h, p float64) {
	var groups [][]float64
	var n int
	var sum float64
	for _, s := range samples {
		if len(s) > 0 {
			groups = append(groups, s)
			n += len(s)
			for _, x := range s {
				sum += x
			}
		}
	}
	if len(groups) < 2 {
		return math.NaN(), 1
	}
	mean := sum / float64(n)
	var ssg, ssa float64
	for _, s := range groups {
		var gs float64
		for _, x := range s {
			gs += x
			ssa += (x - mean) * (x - mean)
		}
		d := gs/float64(len(s)) - mean
		ssg += float64(len(s)) * d * d
	}
	if ssa == 0 {
		return 0, 1 // every rank equal: no difference between the groups
	}
	h = float64(n-1) * ssg / ssa
	return h, ChiSquareSF(h, len(groups)-1)
}

// ChiSquareSF is the upper tail P(X > x) of a chi-square distribution with
// df degrees of freedom.
func ChiSquareSF(x float64, df int) float64 {
	if x <= 0 {
		return 1
	}
	return gammaQ(float64(df)/2, x/2)
}

// gammaQ is the regularised upper incomplete gamma function Q(a, x).
func gammaQ(a, x float64) float64 {
	if x < a+1 {
		return 1 - gammaPSeries(a, x)
	}
	return gammaQFraction(a, x)
}

func gammaPSeries(a, x float64) float64 {
	lg, _ := math.Lgamma(a)
	ap, sum := a, 1/a
	del := sum
	for i := 0; i < 1000; i++ {
		ap++
		del *= x / ap
		sum += del
		if math.Abs(del) < math.Abs(sum)*1e-15 {
			break
		}
	}
	return sum * math.Exp(-x+a*math.Log(x)-lg)
}

// gammaQFraction evaluates Q(a, x) by Lentz's continued fraction.
func gammaQFraction(a, x float64) float64 {
	const tiny = 1e-300
	lg, _ := math.Lgamma(a)
	b := x + 1 - a
	c := 1 / tiny
	d := 1 / b
	h := d
	for i := 1; i < 1000; i++ {
		an := -float64(i) * (float64(i) - a)
		b += 2
		d = an*d + b
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = b + an/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		del := d * c
		h *= del
		if math.Abs(del-1) < 1e-15 {
			break
		}
	}
	return math.Exp(-x+a*math.Log(x)-lg) * h
}

// Preference returns the language preference at k of one query: the share
// of the top k (or of the whole top list if shorter) in the query's
// language divided by that language's share of the pool. It is NaN when
// the pool has no candidate in the query's language or the list is empty.
func Preference(topLangs []string, qLang string, k int, poolShare float64) float64 {
	if k <= 0 || k > len(topLangs) {
		k = len(topLangs)
	}
	if k == 0 || poolShare <= 0 {
		return math.NaN()
	}
	same := 0
	for _, l := range topLangs[:k] {
		if l == qLang {
			same++
		}
	}
	return float64(same) / float64(k) / poolShare
}

// NormalizedRD is the rank distance divided by the pool size.
func NormalizedRD(rd float64, poolSize int) float64 {
	if poolSize <= 0 {
		return math.NaN()
	}
	return rd / float64(poolSize)
}
