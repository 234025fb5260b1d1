package stages

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/lair-ir/lair/batching"
	"github.com/lair-ir/lair/datasets/pairs"
	"github.com/lair-ir/lair/encoder/backend"
	"github.com/lair-ir/lair/encoder/model"
	"github.com/lair-ir/lair/encoder/tiny"
	"github.com/lair-ir/lair/encoder/train"
	"github.com/lair-ir/lair/pipeline"
	"github.com/lair-ir/lair/tables"
)

// registerTrainingModels registers model/tiny and train/contrastive.
func registerTrainingModels(r *pipeline.Registry) {
	r.Register(tinyModelStage())
	r.Register(trainContrastiveStage())
}

func tinyModelStage() *pipeline.StageType {
	return &pipeline.StageType{
		Name:    "model/tiny",
		Version: "1",
		Doc: "From-scratch default encoder for machines without pretrained weights: a WordPiece tokenizer.json learned " +
			"from the train pairs' texts only (lowercased, accents kept, every script seen completed), and a " +
			"random-initialised static-embedding (default) or small transformer model.onnx, in Hugging Face layout. " +
			"Train it with train/contrastive (lr ~1e-3).",
		Params: []pipeline.Param{
			{Name: "arch", Type: pipeline.TypeString, Default: tiny.ArchStatic, Enum: []string{tiny.ArchStatic, tiny.ArchTransformer},
				Doc: "static: token embeddings + mean pooling (fast on CPU); transformer: BERT-shaped encoder"},
			{Name: "hidden", Type: pipeline.TypeInt, Default: 128, Doc: "embedding width"},
			{Name: "layers", Type: pipeline.TypeInt, Default: 2, Doc: "transformer layers"},
			{Name: "heads", Type: pipeline.TypeInt, Default: 4, Doc: "transformer attention heads"},
			{Name: "vocab_size", Type: pipeline.TypeInt, Default: 30000, Doc: "multi-character pieces in the vocabulary (single characters come on top)"},
			{Name: "seed", Type: pipeline.TypeInt, Default: 1, Doc: "weight initialisation seed"},
		},
		Inputs: []pipeline.Input{{Kind: pipeline.KindPairs, Doc: "training pairs: the vocabulary is learned from split=train texts"}},
		Output: pipeline.KindModel,
		Run:    runTinyModel,
	}
}

func runTinyModel(ctx context.Context, sc *pipeline.StageContext) error {
	in, err := sc.Input(pipeline.KindPairs)
	if err != nil {
		return err
	}
	ps, err := pairs.Read(in.Dir)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	texts := []string{"Query: ", "Passage: "}
	for _, p := range ps {
		if p.Split != "train" {
			continue
		}
		for _, s := range []string{p.QText, p.PText, p.NegText} {
			if s != "" && !seen[s] {
				seen[s] = true
				texts = append(texts, s)
			}
		}
	}
	if len(seen) == 0 {
		return fmt.Errorf("stage %s: %s has no split=train pairs to learn a vocabulary from", sc.Name, pairs.Path(in.Dir))
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	p := sc.Params
	cfg := tiny.Config{Arch: p.String("arch"), Hidden: p.Int("hidden"), Layers: p.Int("layers"), Heads: p.Int("heads"),
		VocabSize: p.Int("vocab_size"), Seed: uint64(p.Int("seed"))}
	if err := tiny.Build(sc.OutDir, texts, cfg); err != nil {
		return fmt.Errorf("stage %s: %w", sc.Name, err)
	}
	return nil
}

func trainContrastiveStage() *pipeline.StageType {
	d := train.DefaultConfig()
	return &pipeline.StageType{
		Name:    "train/contrastive",
		Version: "2", // 2: sparse (lazy) AdamW for embedding tables
		Device:  "gpu-optional",
		Doc: "Fine-tunes an ONNX encoder in Go (GoMLX) over a batch plan: shared-weight dual encoder, mean pooling, " +
			"InfoNCE with in-batch negatives over scale x cosine, AdamW, linear warmup then decay, gradient clipping, " +
			"early stopping on the validation pairs' loss, checkpoints in the cache (a killed run resumes). Writes the " +
			"model folder with the trained weights in model.onnx, plus training_log.parquet.",
		Params: []pipeline.Param{
			{Name: "lr", Type: pipeline.TypeFloat, Default: d.LR, Doc: "peak learning rate (3e-5 for pretrained encoders; ~1e-3 from scratch)"},
			{Name: "weight_decay", Type: pipeline.TypeFloat, Default: d.WeightDecay, Doc: "AdamW decoupled weight decay (matrices only)"},
			{Name: "scale", Type: pipeline.TypeFloat, Default: d.Scale, Doc: "cosine similarity multiplier (inverse temperature)"},
			{Name: "warmup", Type: pipeline.TypeFloat, Default: d.WarmupFrac, Doc: "fraction of steps with linear warmup; then linear decay to 0"},
			{Name: "clip_norm", Type: pipeline.TypeFloat, Default: d.ClipNorm, Doc: "global gradient-norm clipping (0 = off)"},
			{Name: "max_length", Type: pipeline.TypeInt, Default: d.MaxLength, Doc: "tokens per text, special tokens included"},
			{Name: "hard_negatives", Type: pipeline.TypeBool, Default: false, Doc: "use neg_text as extra negatives"},
			{Name: "query_prefix", Type: pipeline.TypeString, Default: d.QueryPrefix, Doc: "prepended to queries"},
			{Name: "passage_prefix", Type: pipeline.TypeString, Default: d.PassagePrefix, Doc: "prepended to passages"},
			{Name: "max_steps", Type: pipeline.TypeInt, Default: 0, Doc: "stop after this many steps (0 = whole plan)"},
			{Name: "max_minutes", Type: pipeline.TypeFloat, Default: 0.0, Doc: "stop after this much time (0 = no limit; a time limit makes results machine-dependent)"},
			{Name: "eval_every", Type: pipeline.TypeInt, Default: 0, Doc: "validate every N steps (0 = 10 times per run)"},
			{Name: "patience", Type: pipeline.TypeInt, Default: d.Patience, Doc: "early stopping: validations without improvement (0 = off)"},
			{Name: "val_max_pairs", Type: pipeline.TypeInt, Default: d.ValMaxPairs, Doc: "validation pairs used (0 = all)"},
			{Name: "checkpoint_every", Type: pipeline.TypeInt, Default: d.CheckpointEvery, Doc: "steps between checkpoints (0 = none); at most one per 30 s of training"},
			{Name: "device", Type: pipeline.TypeString, Default: backend.CPU, Enum: backend.Devices,
				Doc: "cpu: GoMLX's pure-Go backend; cuda: GoMLX's XLA backend through a PJRT CUDA plugin ($LAIR_PJRT_PLUGIN, " +
					"$PJRT_PLUGIN_LIBRARY_PATH, ~/.local/lib/go-xla or JAX's jax_plugins/xla_cuda*/xla_cuda_plugin.so; see `lair doctor`)"},
			{Name: "precision", Type: pipeline.TypeString, Default: precisionFP32, Enum: []string{precisionFP32, precisionBF16},
				Doc: "fp32: float32 weights and activations (on cuda XLA uses TF32 tensor cores for float32 matmuls); bf16: mixed precision, every MatMul of the graph in bfloat16 (operands cast, product cast back to float32), weights, optimizer state, norms, softmax, loss and the exported model in float32"},
		},
		Inputs: []pipeline.Input{
			{Kind: pipeline.KindBatches, Doc: "batch plan (batches.arrow)"},
			{Kind: pipeline.KindModel, Doc: "encoder to fine-tune (Hugging Face layout with model.onnx)"},
			{Kind: pipeline.KindPairs, Optional: true, Doc: "pairs whose split=validation rows give the early-stopping loss"},
		},
		Output: pipeline.KindModel,
		Run:    runTrainContrastive,
	}
}

// checkpointDir is where an instance keeps its checkpoints: named by the
// instance key (sc.Key), so a run resumes exactly the instance it was
// killed in, and any change of type version, parameter (device and
// max_minutes included) or input starts afresh. "" (no checkpoints)
// without a cache directory or a key.
func checkpointDir(sc *pipeline.StageContext) string {
	if sc.Env.CacheDir == "" || sc.Key == "" {
		return ""
	}
	return filepath.Join(sc.Env.CacheDir, "train", sc.Key)
}

// trainCheckpointInterval is the least wall time between two checkpoints
// of train/contrastive (see train.Config.CheckpointInterval): a killed run
// loses at most about this much training.
const trainCheckpointInterval = 30 * time.Second

// Precisions of train/contrastive.
const (
	precisionFP32 = "fp32"
	precisionBF16 = "bf16"
)

func runTrainContrastive(ctx context.Context, sc *pipeline.StageContext) error {
	return trainContrastive(ctx, sc, trainCheckpointInterval)
}

// trainContrastive runs train/contrastive with at most one checkpoint per
// ckInterval (0: every checkpoint_every steps).
func trainContrastive(ctx context.Context, sc *pipeline.StageContext, ckInterval time.Duration) error {
	// The device is checked before any data is read or model loaded.
	choice, err := backend.Resolve(backend.Options{Device: sc.Params.String("device"), Config: sc.Env.Backend})
	if err != nil {
		return fmt.Errorf("stage %s: %w", sc.Name, err)
	}
	bin, err := sc.Input(pipeline.KindBatches)
	if err != nil {
		return err
	}
	min, err := sc.Input(pipeline.KindModel)
	if err != nil {
		return err
	}
	bf, err := batching.Read(bin.Dir)
	if err != nil {
		return err
	}
	plan := make([]train.PlannedBatch, len(bf.Batches))
	for i, b := range bf.Batches {
		pb := train.PlannedBatch{Epoch: b.Epoch}
		for _, r := range b.Rows {
			pb.Queries, pb.Passages, pb.Negatives = append(pb.Queries, r.QText), append(pb.Passages, r.PText), append(pb.Negatives, r.NegText)
		}
		plan[i] = pb
	}
	if len(plan) == 0 {
		return fmt.Errorf("stage %s: %s holds no batches", sc.Name, batching.Path(bin.Dir))
	}
	p := sc.Params
	cfg := train.DefaultConfig()
	cfg.LR, cfg.WeightDecay, cfg.Scale = p.Float("lr"), p.Float("weight_decay"), p.Float("scale")
	cfg.WarmupFrac, cfg.ClipNorm, cfg.MaxLength = p.Float("warmup"), p.Float("clip_norm"), p.Int("max_length")
	cfg.HardNegatives, cfg.QueryPrefix, cfg.PassagePrefix = p.Bool("hard_negatives"), p.String("query_prefix"), p.String("passage_prefix")
	cfg.MaxSteps, cfg.MaxMinutes, cfg.EvalEvery = p.Int("max_steps"), p.Float("max_minutes"), p.Int("eval_every")
	cfg.Patience, cfg.ValMaxPairs, cfg.CheckpointEvery = p.Int("patience"), p.Int("val_max_pairs"), p.Int("checkpoint_every")
	cfg.Log = sc.Log
	if cfg.CheckpointEvery > 0 {
		cfg.CheckpointDir = checkpointDir(sc)
		// At most one checkpoint per ckInterval: the tiny model's 50-step
		// checkpoints came every ~0.5 s and took half of a quickstart
		// training's wall time.
		cfg.CheckpointInterval = ckInterval
	}
	if sc.Progress != nil {
		total := len(plan)
		if cfg.MaxSteps > 0 && cfg.MaxSteps < total {
			total = cfg.MaxSteps
		}
		sc.Progress.Start("train", int64(total))
		cfg.OnStep = func(int, int) { sc.Progress.Add(1) }
	}
	var val []train.Batch
	if pin := sc.InputsOf(pipeline.KindPairs); len(pin) > 0 {
		ps, err := pairs.Read(pin[0].Dir)
		if err != nil {
			return err
		}
		var vp []tables.Pair
		for _, pr := range ps {
			if pr.Split == "validation" {
				vp = append(vp, pr)
			}
		}
		vbs := len(plan[0].Queries)
		val = train.ValidationBatches(vp, vbs, cfg.ValMaxPairs)
	}
	mdl, err := train.LoadModel(min.Dir)
	if err != nil {
		return fmt.Errorf("stage %s: %w", sc.Name, err)
	}
	if err := mdl.SetPrecision(train.Precision(p.String("precision"))); err != nil {
		return fmt.Errorf("stage %s: %w", sc.Name, err)
	}
	be, err := backend.Open(choice)
	if err != nil {
		return fmt.Errorf("stage %s: %w", sc.Name, err)
	}
	tr, err := train.NewTrainer(mdl, cfg, be)
	if err != nil {
		return err
	}
	if sc.Log != nil {
		sc.Log.Info("training", "backend", choice.String(), "precision", string(mdl.Precision), "bf16_matmuls", mdl.MixedMatMuls, "params", mdl.NumParams(), "steps", len(plan), "validation_batches", len(val), "checkpoints", cfg.CheckpointDir)
	}
	res, err := tr.Run(ctx, plan, val)
	if err != nil {
		return fmt.Errorf("stage %s: %w", sc.Name, err)
	}
	if err := tr.Export(sc.OutDir); err != nil {
		return fmt.Errorf("stage %s: %w", sc.Name, err)
	}
	if err := model.WriteTrainingLog(sc.OutDir, res.Log); err != nil {
		return err
	}
	summary := map[string]any{"steps": res.Steps, "best_step": res.BestStep, "stopped_by": res.StoppedBy,
		"resumed_from_step": res.Resumed, "params": mdl.NumParams(), "precision": string(mdl.Precision)}
	if !math.IsNaN(res.BestValLoss) && !math.IsInf(res.BestValLoss, 0) {
		summary["best_val_loss"] = res.BestValLoss
	}
	if err := model.WriteTrainingSummary(sc.OutDir, summary); err != nil {
		return err
	}
	if cfg.CheckpointDir != "" {
		os.RemoveAll(cfg.CheckpointDir) // the artifact is complete; the engine publishes it atomically
	}
	return nil
}
