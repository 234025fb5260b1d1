package metrics

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Judged is what a query's ranking tells about its relevant candidates.
type Judged struct {
	Ranks  []int   // 1-based ranks of the relevant candidates in the full ranking
	Grades []int32 // their relevance grades (> 0); nil means all 1
}

// sorted returns ranks ascending with grades permuted alongside.
func (j Judged) sorted() ([]int, []int32) {
	idx := make([]int, len(j.Ranks))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return j.Ranks[a] - j.Ranks[b] })
	r := make([]int, len(idx))
	g := make([]int32, len(idx))
	for i, k := range idx {
		r[i] = j.Ranks[k]
		g[i] = 1
		if j.Grades != nil {
			g[i] = j.Grades[k]
		}
	}
	return r, g
}

// AP is average precision over the full ranking.
func AP(j Judged) float64 {
	r, _ := j.sorted()
	if len(r) == 0 {
		return 0
	}
	s := 0.0
	for i, rank := range r {
		s += float64(i+1) / float64(rank)
	}
	return s / float64(len(r))
}

// APAt is average precision at cut-off k, normalized by min(R, k).
func APAt(j Judged, k int) float64 {
	r, _ := j.sorted()
	if len(r) == 0 || k <= 0 {
		return 0
	}
	s := 0.0
	for i, rank := range r {
		if rank > k {
			break
		}
		s += float64(i+1) / float64(rank)
	}
	return s / float64(min(len(r), k))
}

// RecallAt is the share of relevant candidates ranked in the top k.
func RecallAt(j Judged, k int) float64 {
	if len(j.Ranks) == 0 {
		return 0
	}
	n := 0
	for _, rank := range j.Ranks {
		if rank <= k {
			n++
		}
	}
	return float64(n) / float64(len(j.Ranks))
}

// MRRAt is the reciprocal rank of the first relevant candidate if it is
// in the top k, else 0.
func MRRAt(j Judged, k int) float64 {
	if len(j.Ranks) == 0 {
		return 0
	}
	first := slices.Min(j.Ranks)
	if first > k {
		return 0
	}
	return 1 / float64(first)
}

// NDCGAt is normalized discounted cumulative gain at k with linear gains.
func NDCGAt(j Judged, k int) float64 {
	r, g := j.sorted()
	if len(r) == 0 {
		return 0
	}
	dcg := 0.0
	for i, rank := range r {
		if rank > k {
			break
		}
		dcg += float64(g[i]) / math.Log2(float64(rank)+1)
	}
	ideal := slices.Clone(g)
	slices.SortFunc(ideal, func(a, b int32) int { return int(b - a) })
	idcg := 0.0
	for i := 0; i < len(ideal) && i < k; i++ {
		idcg += float64(ideal[i]) / math.Log2(float64(i)+2)
	}
	if idcg == 0 {
		return 0
	}
	return dcg / idcg
}

// RankDistance is max rank - min rank of the relevant candidates; ok is
// false when there are fewer than two.
func RankDistance(j Judged) (float64, bool) {
	if len(j.Ranks) < 2 {
		return 0, false
	}
	return float64(slices.Max(j.Ranks) - slices.Min(j.Ranks)), true
}

// Spec names a ranking metric: "map", "map@K", "r@K", "mrr@K", "ndcg@K".
type Spec struct {
	Name string
	kind string
	k    int
}

// Parse parses a metric name.
func Parse(name string) (Spec, error) {
	if name == "map" {
		return Spec{Name: name, kind: "map"}, nil
	}
	kind, ks, ok := strings.Cut(name, "@")
	k, err := strconv.Atoi(ks)
	if !ok || err != nil || k <= 0 {
		return Spec{}, fmt.Errorf("metric %q: want map, map@K, r@K, mrr@K or ndcg@K with K > 0", name)
	}
	switch kind {
	case "map", "r", "mrr", "ndcg":
		return Spec{Name: name, kind: kind, k: k}, nil
	}
	return Spec{}, fmt.Errorf("metric %q: unknown metric %q (want map, map@K, r@K, mrr@K or ndcg@K)", name, kind)
}

// ParseAll parses a list of metric names.
func ParseAll(names []string) ([]Spec, error) {
	out := make([]Spec, 0, len(names))
	for _, n := range names {
		s, err := Parse(strings.TrimSpace(n))
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// Eval computes the metric for one query.
func (s Spec) Eval(j Judged) float64 {
	switch s.kind {
	case "map":
		if s.k == 0 {
			return AP(j)
		}
		return APAt(j, s.k)
	case "r":
		return RecallAt(j, s.k)
	case "mrr":
		return MRRAt(j, s.k)
	case "ndcg":
		return NDCGAt(j, s.k)
	}
	panic("metrics: zero Spec")
}
