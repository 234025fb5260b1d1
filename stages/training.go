package stages

import (
	"context"
	"fmt"

	"github.com/lair-ir/lair/batching"
	"github.com/lair-ir/lair/datasets/pairs"
	"github.com/lair-ir/lair/pipeline"
)

func registerTraining(r *pipeline.Registry) {
	r.Register(batchesPlanStage())
	registerTrainingModels(r)
}

func batchesPlanStage() *pipeline.StageType {
	return &pipeline.StageType{
		Name:    "batches/plan",
		Version: "1",
		Doc: "Seeded batch plan over the train pairs (split=train): one Arrow record batch per training batch " +
			"(batches.arrow), with stats.parquet/stats.json. Strategies: mono (X-X), cross (X-Y), hybrid (X-X with " +
			"probability alpha, else X-Y), proportional (pools drawn by size). No two pairs of one group share a batch.",
		Params: []pipeline.Param{
			{Name: "strategy", Type: pipeline.TypeString, Default: "hybrid", Enum: batching.Strategies, Doc: "batch sampling strategy"},
			{Name: "alpha", Type: pipeline.TypeFloat, Default: 0.5, Doc: "hybrid: probability that a batch is monolingual"},
			{Name: "batch_size", Type: pipeline.TypeInt, Default: 100, Doc: "pairs per batch"},
			{Name: "epochs", Type: pipeline.TypeInt, Default: 1, Doc: "passes over the pairs; epoch e is shuffled from seed+e"},
			{Name: "seed", Type: pipeline.TypeInt, Default: 1, Doc: "random seed"},
			{Name: "drop_last", Type: pipeline.TypeBool, Default: false, Doc: "never emit a batch smaller than batch_size"},
			{Name: "cross_mode", Type: pipeline.TypeString, Default: batching.CrossPerBatch, Enum: []string{batching.CrossPerBatch, batching.CrossMixed},
				Doc: "cross batches: one ordered language pair per batch (per-batch) or one per slot (mixed)"},
			{Name: "proportional_by", Type: pipeline.TypeString, Default: "lang", Enum: []string{"lang", "source"},
				Doc: "proportional: pools are language pairs (lang) or sources (source)"},
		},
		Inputs: []pipeline.Input{
			{Kind: pipeline.KindPairs, Doc: "training pairs (pairs.parquet)"},
			{Kind: pipeline.KindCheck, Many: true, Optional: true, Doc: "gates that must pass before batches are planned (e.g. check/leakage)"},
		},
		Output: pipeline.KindBatches,
		Run:    runBatchesPlan,
	}
}

func runBatchesPlan(ctx context.Context, sc *pipeline.StageContext) error {
	in, err := sc.Input(pipeline.KindPairs)
	if err != nil {
		return err
	}
	ps, err := pairs.Read(in.Dir)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	p := sc.Params
	cfg := batching.Config{
		Strategy: batching.Strategy(p.String("strategy")), Alpha: p.Float("alpha"), BatchSize: p.Int("batch_size"),
		Epochs: p.Int("epochs"), Seed: int64(p.Int("seed")), DropLast: p.Bool("drop_last"),
		CrossMode: p.String("cross_mode"), ProportionalBy: p.String("proportional_by"),
	}
	plan, err := batching.Build(ps, cfg)
	if err != nil {
		return fmt.Errorf("stage %s: %w", sc.Name, err)
	}
	if len(plan.Batches) == 0 {
		return fmt.Errorf("stage %s: the plan has no batches (%d train pairs for strategy %s; are there pairs of that kind with split=train?)",
			sc.Name, len(plan.Pairs), cfg.Strategy)
	}
	if err := batching.Write(sc.OutDir, plan); err != nil {
		return err
	}
	if sc.Log != nil {
		sc.Log.Info("batch plan", "strategy", cfg.Strategy, "batches", len(plan.Batches), "train_pairs", len(plan.Pairs))
	}
	return nil
}
