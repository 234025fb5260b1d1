package stats

import (
	"context"

	"github.com/lair-ir/lair/tables"
)

// queryUnit reports whether a per-query row is a paired unit of the
// tests: per-candidate-language bias rows (top10_share, mean_rank) are
// not (mean_rank has no "better" direction for one query); cross rows
// are, one per candidate language, averaged per query.
func queryUnit(r *tables.PerQuery) bool {
	if r.CLang != r.Lang && r.CLang != "all" && r.Setting != "cross" {
		return false
	}
	return r.Metric != "mean_rank"
}

type agg struct {
	sum float64
	n   int
}

func (a *agg) mean() float64 { return a.sum / float64(a.n) }

// unit is one query of one metric within a slice.
type unit struct{ metric, lang, qid string }

// loadUnits reads one slice into per-unit sums over its rows (cross:
// over candidate languages), keeping the metrics keep accepts.
func loadUnits(ctx context.Context, ix *tables.PerQueryIndex, s tables.Slice, keep func(metric string) bool) (map[unit]*agg, error) {
	m := map[unit]*agg{}
	err := ix.Read(ctx, s, func(rows []tables.PerQuery) error {
		for i := range rows {
			r := &rows[i]
			if !keep(r.Metric) || !queryUnit(r) {
				continue
			}
			k := unit{r.Metric, r.Lang, r.QID}
			a := m[k]
			if a == nil {
				a = &agg{}
				m[k] = a
			}
			a.sum += r.Value
			a.n++
		}
		return nil
	})
	return m, err
}
