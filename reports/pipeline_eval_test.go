package reports_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/lair-ir/lair/datasets"
	"github.com/lair-ir/lair/eval"
	"github.com/lair-ir/lair/tables"
)

// evaluatePipeline evaluates the rankings the way stage eval/lareqa
// does and returns its metrics.parquet and per_query.parquet.
func evaluatePipeline(t *testing.T, ctx context.Context, rankings []string, dss []*datasets.Dataset, dir string) (mp, pqp string) {
	t.Helper()
	mp, pqp = filepath.Join(dir, "metrics.parquet"), filepath.Join(dir, "per_query.parquet")
	m, err := eval.EvaluateRankings(ctx, rankings, dss, eval.EvalConfig{Metrics: eval.DefaultLAReQAMetrics, Bias: true, PerQueryPath: pqp})
	if err != nil {
		t.Fatal(err)
	}
	if err := tables.Write(mp, m, nil); err != nil {
		t.Fatal(err)
	}
	return mp, pqp
}
