package eval

import (
	"math"
	"slices"

	"github.com/lair-ir/lair/eval/bias"
	"github.com/lair-ir/lair/eval/metrics"
)

// Language-bias metric names (multi setting only).
const (
	MetricRD            = "rd"              // rank distance: max - min rank of a query's relevant candidates
	MetricSameLangFirst = "same_lang_first" // 1 when the first relevant hit is in the query's language
	MetricMeanRank      = "mean_rank"       // rank of the first relevant candidate of language c_lang
	MetricTop10Share    = "top10_share"     // share of the top 10 in language c_lang
	MetricRDNorm        = "rd_norm"         // rank distance divided by the pool size
	MetricPEER100       = "peer@100"        // PEER@100 (eval/bias): 1 = languages ranked alike, ~0 = unequal
	MetricPref10        = "pref@10"         // share of the top 10 in the query's language / its share of the pool
	MetricPref100       = "pref@100"        // the same at 100
	MetricFirstRelShare = "first_rel_share" // 1 when the first relevant hit is in language c_lang
)

// MeasureContext is what measures may need beyond one ranking row.
type MeasureContext struct {
	CandLang map[string]string // candidate id -> language (nil: unknown)
	Langs    []string          // candidate languages, sorted
	// PoolCount is the number of candidates per dataset and language
	// (language preference); nil: every candidate of CandLang is in the
	// pool of the first dataset seen.
	PoolCount map[string]map[string]int
}

// Emit records one per-query value: metric for candidate language clang
// (the row's c_lang, or a language for per-language breakdowns, or "all").
type Emit func(clang, metric string, v float64)

// A Measure turns one ranking row into per-query values. This list is
// the one place where per-query measures are defined: Evaluator streams
// what they emit to per_query.parquet and aggregates it into
// metrics.parquet (mean per cell; per c_lang macro average for
// PerCLang measures, else per q_lang then over query languages).
type Measure struct {
	Metrics  []string // the metric names it emits (for a ranking metric, its spec name)
	Setting  string   // only rows of this setting ("" = every setting)
	PerCLang bool     // broken down by candidate language (macro average keeps c_lang)
	Eval     func(mc *MeasureContext, r *Ranking, j metrics.Judged, emit Emit)
}

// Measures returns the measures of the given ranking metrics, plus the
// language-bias measures of the multi setting with bias.
func Measures(specs []metrics.Spec, bias bool) []Measure {
	var out []Measure
	for _, s := range specs {
		s := s
		out = append(out, Measure{Metrics: []string{s.Name}, Eval: func(_ *MeasureContext, r *Ranking, j metrics.Judged, emit Emit) {
			emit(r.CLang, s.Name, s.Eval(j))
		}})
	}
	if bias {
		out = append(out, biasMeasures...)
	}
	return out
}

// firstRel returns the index of the best-ranked relevant candidate
// (rel_* are ordered by rank; do not rely on it).
func firstRel(r *Ranking) int {
	first, best := -1, int32(0)
	for i, rk := range r.RelRanks {
		if first < 0 || rk < best {
			first, best = i, rk
		}
	}
	return first
}

// biasMeasures are the language-bias measures (multi setting), in the
// order their rows are written.
var biasMeasures = []Measure{
	{Metrics: []string{MetricRD, MetricRDNorm}, Setting: Multi, Eval: func(_ *MeasureContext, r *Ranking, j metrics.Judged, emit Emit) {
		if rd, ok := metrics.RankDistance(j); ok {
			emit(All, MetricRD, rd)
			emit(All, MetricRDNorm, bias.NormalizedRD(rd, int(r.PoolSize)))
		}
	}},
	{Metrics: []string{MetricSameLangFirst}, Setting: Multi, Eval: func(_ *MeasureContext, r *Ranking, _ metrics.Judged, emit Emit) {
		if !slices.Contains(r.RelLangs, r.QLang) {
			return
		}
		v := 0.0
		if r.RelLangs[firstRel(r)] == r.QLang {
			v = 1
		}
		emit(All, MetricSameLangFirst, v)
	}},
	{Metrics: []string{MetricFirstRelShare}, Setting: Multi, PerCLang: true, Eval: func(mc *MeasureContext, r *Ranking, _ metrics.Judged, emit Emit) {
		first := firstRel(r)
		for _, l := range mc.Langs {
			v := 0.0
			if r.RelLangs[first] == l {
				v = 1
			}
			emit(l, MetricFirstRelShare, v)
		}
	}},
	{Metrics: []string{MetricMeanRank}, Setting: Multi, PerCLang: true, Eval: func(_ *MeasureContext, r *Ranking, _ metrics.Judged, emit Emit) {
		seen := map[string]int32{}
		for i, rk := range r.RelRanks {
			l := r.RelLangs[i]
			if old, ok := seen[l]; !ok || rk < old {
				seen[l] = rk
			}
		}
		ls := make([]string, 0, len(seen))
		for l := range seen {
			ls = append(ls, l)
		}
		slices.Sort(ls)
		for _, l := range ls {
			emit(l, MetricMeanRank, float64(seen[l]))
		}
	}},
	{Metrics: []string{MetricTop10Share}, Setting: Multi, PerCLang: true, Eval: func(mc *MeasureContext, r *Ranking, _ metrics.Judged, emit Emit) {
		if mc.CandLang == nil || len(r.TopCIDs) == 0 {
			return
		}
		n := min(10, len(r.TopCIDs))
		count := map[string]int{}
		for _, c := range r.TopCIDs[:n] {
			count[mc.CandLang[c]]++
		}
		for _, l := range mc.Langs {
			emit(l, MetricTop10Share, float64(count[l])/float64(n))
		}
	}},
	{Metrics: []string{MetricPref10, MetricPref100, MetricPEER100}, Setting: Multi, Eval: languagePreference},
}

// languagePreference emits PEER@100 and the language preference at 10
// and 100 of a multi-setting row (eval/bias has the definitions).
func languagePreference(mc *MeasureContext, r *Ranking, _ metrics.Judged, emit Emit) {
	if mc.CandLang == nil || len(r.TopCIDs) == 0 {
		return
	}
	if mc.PoolCount == nil { // one dataset: every candidate is in the pool
		mc.PoolCount = map[string]map[string]int{r.Dataset: {}}
		for _, l := range mc.CandLang {
			mc.PoolCount[r.Dataset][l]++
		}
	}
	const k = 100 // the deepest cutoff of these measures: only the top k is looked at
	n := min(k, len(r.TopCIDs))
	top := make([]string, n)
	for i, c := range r.TopCIDs[:n] {
		top[i] = mc.CandLang[c]
	}
	share := float64(mc.PoolCount[r.Dataset][r.QLang]) / float64(r.PoolSize)
	for _, m := range []struct {
		name string
		k    int
	}{{MetricPref10, 10}, {MetricPref100, 100}} {
		if v := bias.Preference(top, r.QLang, m.k, share); !math.IsNaN(v) {
			emit(All, m.name, v)
		}
	}
	grade := make(map[string]int32, len(r.RelCIDs))
	for i, c := range r.RelCIDs {
		grade[c] = r.RelGrades[i]
	}
	docs := make([]bias.Doc, n)
	for i := range n {
		docs[i] = bias.Doc{Lang: top[i], Grade: grade[r.TopCIDs[i]]}
	}
	var unret []bias.Doc
	for i, rk := range r.RelRanks {
		if int(rk) > n && r.RelGrades[i] > 0 {
			unret = append(unret, bias.Doc{Lang: r.RelLangs[i], Grade: r.RelGrades[i]})
		}
	}
	emit(All, MetricPEER100, bias.PEER(docs, unret, k, bias.DefaultPEERWeights))
}
