package eval

import (
	"slices"
	"strings"

	"github.com/lair-ir/lair/eval/metrics"
	"github.com/lair-ir/lair/tables"
)

// DefaultLAReQAMetrics are the ranking metrics eval/lareqa reports.
var DefaultLAReQAMetrics = []string{"map", "map@20", "r@1", "r@10", "mrr@10", "ndcg@10", "r@100"}

// DefaultMIRACLMetrics are the ranking metrics eval/miracl reports.
var DefaultMIRACLMetrics = []string{"ndcg@10", "r@100", "map", "mrr@10"}

// perCLang reports whether a metric is broken down by candidate language
// (its macro average keeps c_lang).
func perCLang(metric string) bool {
	for _, m := range biasMeasures {
		if slices.Contains(m.Metrics, metric) {
			return m.PerCLang
		}
	}
	return false
}

// Evaluator accumulates metrics over a stream of rankings and streams
// the per-query rows to a sink as they are produced: its memory is the
// aggregate cells and one buffer of rows, whatever the number of runs.
type Evaluator struct {
	measures []Measure
	ctx      *MeasureContext
	cells    map[cellKey]*acc
	bases    map[baseKey]map[string]*acc // the same accumulators, by cell then metric (fast path)
	sink     func([]tables.PerQuery) error
	buf      []tables.PerQuery
	cur      *Ranking
}

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

// perQueryBatch is the number of per-query rows buffered before the sink.
const perQueryBatch = 4096

// NewEvaluator returns an evaluator for the given ranking metrics. With
// bias, multi-setting rows also yield the language-bias measures;
// candLang maps candidate ids to languages (for the top-10 language mix)
// and langs lists the candidate languages. sink receives the per-query
// rows in batches, in the order they are produced (nil: dropped).
func NewEvaluator(specs []metrics.Spec, bias bool, candLang map[string]string, langs []string, sink func([]tables.PerQuery) error) *Evaluator {
	e := &Evaluator{measures: Measures(specs, bias), ctx: &MeasureContext{CandLang: candLang, Langs: langs},
		cells: map[cellKey]*acc{}, bases: map[baseKey]map[string]*acc{}, sink: sink}
	return e
}

// SetPools gives the number of candidates per dataset and language, for
// the language preference of multi-setting rows when the evaluator sees
// several datasets.
func (e *Evaluator) SetPools(count map[string]map[string]int) { e.ctx.PoolCount = count }

func (e *Evaluator) add(clang, metric string, v float64) {
	r := e.cur
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
	if e.sink != nil {
		e.buf = append(e.buf, tables.PerQuery{RunID: r.RunID, Dataset: r.Dataset, Setting: r.Setting,
			QID: r.QID, Lang: r.QLang, CLang: clang, Metric: metric, Value: v})
	}
}

// Add evaluates one ranking row.
func (e *Evaluator) Add(r *Ranking) error {
	if len(r.RelRanks) == 0 {
		return nil
	}
	j := metrics.Judged{Ranks: make([]int, len(r.RelRanks)), Grades: r.RelGrades}
	for i, rk := range r.RelRanks {
		j.Ranks[i] = int(rk)
	}
	e.cur = r
	for _, m := range e.measures {
		if m.Setting != "" && m.Setting != r.Setting {
			continue
		}
		m.Eval(e.ctx, r, j, e.add)
	}
	e.cur = nil
	if len(e.buf) >= perQueryBatch {
		return e.Flush()
	}
	return nil
}

// Flush hands the buffered per-query rows to the sink.
func (e *Evaluator) Flush() error {
	if len(e.buf) == 0 || e.sink == nil {
		return nil
	}
	err := e.sink(e.buf)
	e.buf = e.buf[:0]
	return err
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
