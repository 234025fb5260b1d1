package eval

import (
	"math"
	"slices"
	"strings"

	"github.com/lair-ir/lair/eval/bias"
	"github.com/lair-ir/lair/eval/metrics"
	"github.com/lair-ir/lair/tables"
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

// DefaultLAReQAMetrics are the ranking metrics eval/lareqa reports.
var DefaultLAReQAMetrics = []string{"map", "map@20", "r@1", "r@10", "mrr@10", "ndcg@10", "r@100"}

// DefaultMIRACLMetrics are the ranking metrics eval/miracl reports.
var DefaultMIRACLMetrics = []string{"ndcg@10", "r@100", "map", "mrr@10"}

// perCLang reports whether a metric is broken down by candidate language
// (its macro average keeps c_lang).
func perCLang(metric string) bool {
	return metric == MetricMeanRank || metric == MetricTop10Share || metric == MetricFirstRelShare
}

// Evaluator accumulates metrics over a stream of rankings.
type Evaluator struct {
	specs    []metrics.Spec
	bias     bool
	candLang map[string]string
	langs    []string
	cells    map[cellKey]*acc
	bases    map[baseKey]map[string]*acc // the same accumulators, by cell then metric (fast path)
	PerQuery []tables.PerQuery

	poolCount map[string]map[string]int // candidates per dataset and language (language preference)
}

// SetPools gives the number of candidates per dataset and language, for
// the language preference of multi-setting rows when the evaluator sees
// several datasets.
func (e *Evaluator) SetPools(count map[string]map[string]int) { e.poolCount = count }

type cellKey struct {
	run, dataset, setting, qlang, clang, metric string
}

type baseKey struct {
	run, dataset, setting, qlang, clang string
}

type acc struct {
	sum float64
	n   int64
}

// NewEvaluator returns an evaluator for the given ranking metrics. With
// bias, multi-setting rows also yield the language-bias metrics; candLang
// maps candidate ids to languages (for the top-10 language mix) and langs
// lists the candidate languages.
func NewEvaluator(specs []metrics.Spec, bias bool, candLang map[string]string, langs []string) *Evaluator {
	return &Evaluator{specs: specs, bias: bias, candLang: candLang, langs: langs, cells: map[cellKey]*acc{}, bases: map[baseKey]map[string]*acc{}}
}

func (e *Evaluator) add(r *Ranking, clang, metric string, v float64) {
	bk := baseKey{r.RunID, r.Dataset, r.Setting, r.QLang, clang}
	m := e.bases[bk]
	if m == nil {
		m = map[string]*acc{}
		e.bases[bk] = m
	}
	a := m[metric]
	if a == nil {
		a = &acc{}
		m[metric] = a
		e.cells[cellKey{r.RunID, r.Dataset, r.Setting, r.QLang, clang, metric}] = a
	}
	a.sum += v
	a.n++
	e.PerQuery = append(e.PerQuery, tables.PerQuery{RunID: r.RunID, Dataset: r.Dataset, Setting: r.Setting,
		QID: r.QID, Lang: r.QLang, CLang: clang, Metric: metric, Value: v})
}

// Add evaluates one ranking row.
func (e *Evaluator) Add(r *Ranking) {
	if len(r.RelRanks) == 0 {
		return
	}
	j := metrics.Judged{Ranks: make([]int, len(r.RelRanks)), Grades: r.RelGrades}
	for i, rk := range r.RelRanks {
		j.Ranks[i] = int(rk)
	}
	for _, s := range e.specs {
		e.add(r, r.CLang, s.Name, s.Eval(j))
	}
	if !e.bias || r.Setting != Multi {
		return
	}
	if rd, ok := metrics.RankDistance(j); ok {
		e.add(r, All, MetricRD, rd)
		e.add(r, All, MetricRDNorm, bias.NormalizedRD(rd, int(r.PoolSize)))
	}
	// first relevant hit (rel_* are ordered by rank; do not rely on it)
	first, best := -1, int32(0)
	seen := map[string]int32{}
	for i, rk := range r.RelRanks {
		if first < 0 || rk < best {
			first, best = i, rk
		}
		l := r.RelLangs[i]
		if old, ok := seen[l]; !ok || rk < old {
			seen[l] = rk
		}
	}
	if _, ok := seen[r.QLang]; ok {
		v := 0.0
		if r.RelLangs[first] == r.QLang {
			v = 1
		}
		e.add(r, All, MetricSameLangFirst, v)
	}
	for _, l := range e.langs {
		v := 0.0
		if r.RelLangs[first] == l {
			v = 1
		}
		e.add(r, l, MetricFirstRelShare, v)
	}
	ls := make([]string, 0, len(seen))
	for l := range seen {
		ls = append(ls, l)
	}
	slices.Sort(ls)
	for _, l := range ls {
		e.add(r, l, MetricMeanRank, float64(seen[l]))
	}
	if e.candLang != nil && len(r.TopCIDs) > 0 {
		n := min(10, len(r.TopCIDs))
		count := map[string]int{}
		for _, c := range r.TopCIDs[:n] {
			count[e.candLang[c]]++
		}
		for _, l := range e.langs {
			e.add(r, l, MetricTop10Share, float64(count[l])/float64(n))
		}
		e.addLanguagePreference(r, first)
	}
}

// addLanguagePreference adds PEER@100 and the language preference at 10
// and 100 of a multi-setting row (eval/bias has the definitions).
func (e *Evaluator) addLanguagePreference(r *Ranking, first int) {
	if e.poolCount == nil { // one dataset: every candidate is in the pool
		e.poolCount = map[string]map[string]int{r.Dataset: {}}
		for _, l := range e.candLang {
			e.poolCount[r.Dataset][l]++
		}
	}
	top := make([]string, len(r.TopCIDs))
	for i, c := range r.TopCIDs {
		top[i] = e.candLang[c]
	}
	share := float64(e.poolCount[r.Dataset][r.QLang]) / float64(r.PoolSize)
	for _, m := range []struct {
		name string
		k    int
	}{{MetricPref10, 10}, {MetricPref100, 100}} {
		if v := bias.Preference(top, r.QLang, m.k, share); !math.IsNaN(v) {
			e.add(r, All, m.name, v)
		}
	}
	const k = 100
	grade := make(map[string]int32, len(r.RelCIDs))
	for i, c := range r.RelCIDs {
		grade[c] = r.RelGrades[i]
	}
	n := min(k, len(r.TopCIDs))
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
	e.add(r, All, MetricPEER100, bias.PEER(docs, unret, k, bias.DefaultPEERWeights))
}

// Metrics returns the aggregated rows: one per (setting, q_lang, c_lang)
// cell; for cross, per query language the mean over its candidate
// languages (c_lang "all"); and per setting the macro average over query
// languages (q_lang "all"). Bias metrics broken down by candidate
// language are macro-averaged per c_lang.
func (e *Evaluator) Metrics() []tables.Metric {
	var out []tables.Metric
	type groupKey struct{ run, dataset, setting, metric string }
	groups := map[groupKey][]cellKey{}
	for k, a := range e.cells {
		out = append(out, tables.Metric{RunID: k.run, Dataset: k.dataset, Setting: k.setting, QLang: k.qlang,
			CLang: k.clang, Metric: k.metric, Value: a.sum / float64(a.n), N: a.n})
		g := groupKey{k.run, k.dataset, k.setting, k.metric}
		groups[g] = append(groups[g], k)
	}
	// Sums run in sorted key order so that the output is the same, bit for
	// bit, on every run.
	for _, keys := range groups {
		slices.SortFunc(keys, func(a, b cellKey) int {
			return cmpLang(a.qlang, b.qlang)*2 + cmpLang(a.clang, b.clang)
		})
	}
	for g, keys := range groups {
		mean := func(ks []cellKey) (float64, int64) {
			s, n := 0.0, int64(0)
			for _, k := range ks {
				a := e.cells[k]
				s += a.sum / float64(a.n)
				n += a.n
			}
			return s / float64(len(ks)), n
		}
		row := func(q, c string, v float64, n int64) tables.Metric {
			return tables.Metric{RunID: g.run, Dataset: g.dataset, Setting: g.setting, QLang: q, CLang: c, Metric: g.metric, Value: v, N: n}
		}
		if perCLang(g.metric) {
			byC := map[string][]cellKey{}
			for _, k := range keys {
				byC[k.clang] = append(byC[k.clang], k)
			}
			for _, c := range sortedKeys(byC) {
				v, n := mean(byC[c])
				out = append(out, row(All, c, v, n))
			}
			continue
		}
		byQ := map[string][]cellKey{}
		for _, k := range keys {
			byQ[k.qlang] = append(byQ[k.qlang], k)
		}
		var perQ []float64
		var total int64
		for _, q := range sortedKeys(byQ) {
			v, n := mean(byQ[q])
			perQ = append(perQ, v)
			total += n
			if g.setting == Cross {
				out = append(out, row(q, All, v, n))
			}
		}
		s := 0.0
		for _, v := range perQ {
			s += v
		}
		out = append(out, row(All, All, s/float64(len(perQ)), total))
	}
	SortMetrics(out)
	return out
}

// settingOrder orders settings mono, cross, multi.
func settingOrder(s string) int {
	switch s {
	case Mono:
		return 0
	case Cross:
		return 1
	case Multi:
		return 2
	}
	return 3
}

// cmpLang orders language codes with "all" first.
func cmpLang(a, b string) int {
	if a == b {
		return 0
	}
	if a == All {
		return -1
	}
	if b == All {
		return 1
	}
	return strings.Compare(a, b)
}

// SortMetrics sorts metric rows by run, dataset, setting, metric, q_lang, c_lang.
func SortMetrics(rows []tables.Metric) {
	slices.SortFunc(rows, func(a, b tables.Metric) int {
		if c := strings.Compare(a.RunID, b.RunID); c != 0 {
			return c
		}
		if c := strings.Compare(a.Dataset, b.Dataset); c != 0 {
			return c
		}
		if c := settingOrder(a.Setting) - settingOrder(b.Setting); c != 0 {
			return c
		}
		if c := strings.Compare(a.Metric, b.Metric); c != 0 {
			return c
		}
		if c := cmpLang(a.QLang, b.QLang); c != 0 {
			return c
		}
		return cmpLang(a.CLang, b.CLang)
	})
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.SortFunc(out, cmpLang)
	return out
}
