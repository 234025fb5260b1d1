package train

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/lair-ir/lair/batching"
	"github.com/lair-ir/lair/datasets/lareqa"
	"github.com/lair-ir/lair/datasets/pairs"
	"github.com/lair-ir/lair/encoder/tiny"
	"github.com/lair-ir/lair/internal/testenv"
	"github.com/lair-ir/lair/tables"
)

// TestLossFallsOnRealData trains the tiny static model on MLQA-R pairs
// (the smaller dataset) for 40 hybrid batches and checks that the loss on
// held-out validation pairs falls.
func TestLossFallsOnRealData(t *testing.T) {
	if testing.Short() {
		t.Skip("loads MLQA-R and trains for a few seconds")
	}
	raw := testenv.RawDir(t)
	ml, err := lareqa.LoadDir(context.Background(), lareqa.MLQAR, filepath.Join(raw, "mlqa-r"), lareqa.MLQAR.Languages)
	if err != nil {
		t.Fatal(err)
	}
	ps, _, err := pairs.FromDataset(&ml.Dataset, pairs.Options{ValidationFraction: 0.1, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	plan, err := batching.Build(ps, batching.Config{Strategy: batching.StrategyHybrid, Alpha: 0.5, BatchSize: 32, Epochs: 1, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	seen := map[string]bool{}
	var val []tables.Pair
	for _, p := range ps {
		if p.Split != "train" {
			val = append(val, p)
			continue
		}
		for _, s := range []string{p.QText, p.PText} {
			if !seen[s] {
				seen[s] = true
				texts = append(texts, s)
			}
		}
	}
	dir := filepath.Join(t.TempDir(), "tiny")
	if err := tiny.Build(dir, texts, tiny.Config{Hidden: 64, VocabSize: 10000}); err != nil {
		t.Fatal(err)
	}
	m, err := LoadModel(dir)
	if err != nil {
		t.Fatal(err)
	}
	be, err := NewBackend()
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.LR, cfg.MaxLength, cfg.MaxSteps, cfg.EvalEvery, cfg.Patience, cfg.WarmupFrac = 1e-2, 32, 40, 40, 0, 0.05
	tr, err := NewTrainer(m, cfg, be)
	if err != nil {
		t.Fatal(err)
	}
	var runPlan []PlannedBatch
	for _, b := range plan.Batches {
		var pb PlannedBatch
		for _, i := range b.Pairs {
			p := plan.Pairs[i]
			pb.Queries, pb.Passages, pb.Negatives = append(pb.Queries, p.QText), append(pb.Passages, p.PText), append(pb.Negatives, "")
		}
		runPlan = append(runPlan, pb)
	}
	vb := ValidationBatches(val, 32, 256)
	before, err := tr.ValLoss(context.Background(), vb)
	if err != nil {
		t.Fatal(err)
	}
	res, err := tr.Run(context.Background(), runPlan, vb)
	if err != nil {
		t.Fatal(err)
	}
	nval := 0
	for _, b := range vb {
		nval += len(b.Queries)
	}
	t.Logf("validation loss %.4f -> %.4f over %d steps (%d validation pairs in %d batches); last train loss %.4f",
		before, res.BestValLoss, res.Steps, nval, len(vb), res.Log[len(res.Log)-1].Loss)
	if !(res.BestValLoss < before-0.05) {
		t.Errorf("validation loss did not fall: %.4f -> %.4f", before, res.BestValLoss)
	}
}
