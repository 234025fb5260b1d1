package stages

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/lair-ir/lair/batching"
	"github.com/lair-ir/lair/encoder/train"
	"github.com/lair-ir/lair/pipeline"
	"github.com/lair-ir/lair/tables"
)

// stageCtx resolves defaults and builds a StageContext for one stage type.
func stageCtx(t *testing.T, typ *pipeline.StageType, params map[string]any, inputs []pipeline.Artifact, cache string) *pipeline.StageContext {
	t.Helper()
	p := pipeline.Params{}
	for _, d := range typ.Params {
		if d.Default != nil {
			p[d.Name] = d.Default
		}
	}
	for k, v := range params {
		if _, ok := typ.Param(k); !ok {
			t.Fatalf("%s has no parameter %s", typ.Name, k)
		}
		p[k] = v
	}
	out := t.TempDir()
	// The key as the planner makes it (no KeyParams here).
	var keys []string
	for _, a := range inputs {
		keys = append(keys, a.Key)
	}
	return &pipeline.StageContext{Name: typ.Name, Key: pipeline.KeyOf(typ, p, keys), Type: typ, Params: p, Inputs: inputs, OutDir: out, Env: pipeline.Env{CacheDir: cache}}
}

func synthPairs() []tables.Pair {
	langs := []string{"de", "en", "es"}
	words := map[string][]string{"de": {"haus", "baum", "fluss", "berg", "stadt"}, "en": {"house", "tree", "river", "mountain", "city"},
		"es": {"casa", "arbol", "rio", "montana", "ciudad"}}
	var out []tables.Pair
	for g := 0; g < 30; g++ {
		for _, q := range langs {
			for _, p := range langs {
				kind := "cross"
				if q == p {
					kind = "mono"
				}
				split := "train"
				if g >= 26 {
					split = "validation"
				}
				w := g % 5
				out = append(out, tables.Pair{PairID: fmt.Sprintf("s/%d/%s-%s", g, q, p), GroupID: fmt.Sprint(g), Source: "synth", Kind: kind,
					QLang: q, QText: fmt.Sprintf("%s %d?", words[q][w], g), PLang: p, PText: fmt.Sprintf("%s %d %s.", words[p][w], g, words[p][(w+1)%5]), Split: split})
			}
		}
	}
	return out
}

func TestTrainingStagesEndToEnd(t *testing.T) {
	pairsDir := t.TempDir()
	if err := tables.Write(filepath.Join(pairsDir, "pairs.parquet"), synthPairs(), nil); err != nil {
		t.Fatal(err)
	}
	pairsArt := pipeline.Artifact{Kind: pipeline.KindPairs, Key: "pairs-key", Dir: pairsDir}
	ctx := context.Background()

	bsc := stageCtx(t, batchesPlanStage(), map[string]any{"strategy": "hybrid", "batch_size": 8, "epochs": 3}, []pipeline.Artifact{pairsArt}, "")
	if err := runBatchesPlan(ctx, bsc); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"batches.arrow", "stats.parquet", "stats.json"} {
		if _, err := os.Stat(filepath.Join(bsc.OutDir, f)); err != nil {
			t.Fatal(err)
		}
	}
	bf, err := batching.ReadArrow(filepath.Join(bsc.OutDir, batching.FileName))
	if err != nil {
		t.Fatal(err)
	}
	batchesArt := pipeline.Artifact{Kind: pipeline.KindBatches, Key: "batches-key", Dir: bsc.OutDir}

	msc := stageCtx(t, tinyModelStage(), map[string]any{"hidden": 16}, []pipeline.Artifact{pairsArt}, "")
	if err := runTinyModel(ctx, msc); err != nil {
		t.Fatal(err)
	}
	modelArt := pipeline.Artifact{Kind: pipeline.KindModel, Key: "model-key", Dir: msc.OutDir}

	cache := t.TempDir()
	params := map[string]any{"lr": 1e-2, "checkpoint_every": 3, "max_length": 16, "eval_every": 4, "patience": 0}
	inputs := []pipeline.Artifact{batchesArt, modelArt, pairsArt}
	// A run killed after step 7 (checkpoint at 6)...
	tsc := stageCtx(t, trainContrastiveStage(), params, inputs, cache)
	kctx, cancel := context.WithCancel(ctx)
	tsc.Progress = &cancelAt{n: 7, cancel: cancel}
	if err := trainContrastive(kctx, tsc, 0); err == nil { // 0: a checkpoint every checkpoint_every steps, however fast
		t.Fatal("killed run succeeded")
	}
	// The checkpoint is named by the instance key, nothing else.
	if _, err := os.Stat(filepath.Join(cache, "train", tsc.Key, train.CheckpointFile)); err != nil {
		t.Fatalf("no checkpoint under the instance key %s: %v", tsc.Key, err)
	}
	type summaryJSON struct {
		Steps    int `json:"steps"`
		Resumed  int `json:"resumed_from_step"`
		BestStep int `json:"best_step"`
	}
	readSummary := func(sc *pipeline.StageContext) (summaryJSON, []byte) {
		t.Helper()
		js, err := os.ReadFile(filepath.Join(sc.OutDir, "training.json"))
		if err != nil {
			t.Fatal(err)
		}
		var s summaryJSON
		if err := json.Unmarshal(js, &s); err != nil {
			t.Fatal(err)
		}
		return s, js
	}
	// Another instance (another key: max_steps 4) shares the cache but not
	// the checkpoint: it starts at step 0 (resuming the killed run's step
	// 6 checkpoint would overshoot its 4 steps) and leaves that one alone.
	other := map[string]any{"max_steps": 4}
	for k, v := range params {
		other[k] = v
	}
	osc := stageCtx(t, trainContrastiveStage(), other, inputs, cache)
	if osc.Key == tsc.Key {
		t.Fatal("max_steps does not change the key")
	}
	if err := runTrainContrastive(ctx, osc); err != nil {
		t.Fatal(err)
	}
	if s, js := readSummary(osc); s.Resumed != 0 || s.Steps != 4 {
		t.Errorf("another instance's summary %s: want 4 steps from 0", js)
	}
	// ...and the killed instance is resumed by a new run with a fresh
	// output directory.
	tsc2 := stageCtx(t, trainContrastiveStage(), params, inputs, cache)
	if err := trainContrastive(ctx, tsc2, 0); err != nil {
		t.Fatal(err)
	}
	summary, js := readSummary(tsc2)
	if summary.Resumed != 6 || summary.Steps != len(bf.Batches) {
		t.Errorf("summary %s: want resume from 6 and %d steps", js, len(bf.Batches))
	}
	for _, f := range []string{"model.onnx", "tokenizer.json", "config.json", "training_log.parquet"} {
		if _, err := os.Stat(filepath.Join(tsc2.OutDir, f)); err != nil {
			t.Fatal(err)
		}
	}
	log, err := tables.Read[trainLogRow](filepath.Join(tsc2.OutDir, "training_log.parquet"))
	if err != nil || len(log) != len(bf.Batches) {
		t.Fatalf("training_log: %d rows, err %v", len(log), err)
	}
	if _, err := os.Stat(filepath.Join(cache, "train")); err == nil {
		entries, _ := os.ReadDir(filepath.Join(cache, "train"))
		if len(entries) != 0 {
			t.Errorf("checkpoint left behind after success: %v", entries)
		}
	}
}

type trainLogRow struct {
	Step int64   `parquet:"step"`
	Loss float64 `parquet:"loss"`
}

// cancelAt cancels the run after n progress steps.
type cancelAt struct {
	n, done int
	cancel  func()
}

func (c *cancelAt) Start(string, int64) {}
func (c *cancelAt) Add(int64) {
	c.done++
	if c.done == c.n {
		c.cancel()
	}
}
