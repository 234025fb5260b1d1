package train

import (
	"context"
	"fmt"
	"hash/fnv"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lair-ir/lair/encoder/modelgen"
	"github.com/lair-ir/lair/tables"
)

// wordTok is a test tokenizer: [CLS]=2 words... [SEP]=3, words hashed into
// [5, vocab).
type wordTok struct{ vocab int }

func (w wordTok) EncodeIDs(text string) ([]int64, error) {
	ids := []int64{2}
	for _, f := range strings.Fields(strings.ToLower(text)) {
		h := fnv.New32a()
		h.Write([]byte(f))
		ids = append(ids, 5+int64(h.Sum32()%uint32(w.vocab-5)))
	}
	return append(ids, 3), nil
}
func (w wordTok) PadID() int64 { return 0 }

const testVocab = 400

func staticModel(t testing.TB, hidden int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "model")
	if err := modelgen.Generate(dir, modelgen.Config{Arch: modelgen.ArchStatic, Hidden: hidden, VocabSize: testVocab, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	return dir
}

// synthData: n topics; a query "q topic i lang" and its passage share topic
// words across "languages" (disjoint word sets per language).
func synthPlan(nBatches, bs int) []PlannedBatch {
	var plan []PlannedBatch
	for k := 0; k < nBatches; k++ {
		var b Batch
		for i := 0; i < bs; i++ {
			topic := (k*bs + i*7) % 40
			b.Queries = append(b.Queries, fmt.Sprintf("what about t%d x%d", topic, topic%5))
			b.Passages = append(b.Passages, fmt.Sprintf("t%d is described here y%d w%d", topic, topic%3, topic))
			b.Negatives = append(b.Negatives, "")
		}
		plan = append(plan, PlannedBatch{Epoch: k / 20, Batch: b})
	}
	return plan
}

func newTestTrainer(t testing.TB, dir string, cfg Config) *Trainer {
	t.Helper()
	m, err := LoadModelWith(dir, wordTok{testVocab})
	if err != nil {
		t.Fatal(err)
	}
	return trainerOf(t, m, cfg)
}

// trainerOf prepares training of m under cfg on the pure-Go backend.
func trainerOf(t testing.TB, m *Model, cfg Config) *Trainer {
	t.Helper()
	be, err := NewBackend()
	if err != nil {
		t.Fatal(err)
	}
	tr, err := NewTrainer(m, cfg, be)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func testConfig() Config {
	cfg := DefaultConfig()
	cfg.LR = 5e-2
	cfg.WarmupFrac = 0.1
	cfg.MaxLength = 16
	cfg.CheckpointEvery = 7
	cfg.EvalEvery = 10
	cfg.Patience = 0
	return cfg
}

func TestLossFalls(t *testing.T) {
	dir := staticModel(t, 16)
	tr := newTestTrainer(t, dir, testConfig())
	plan := synthPlan(40, 8)
	val := []Batch{synthPlan(1, 8)[0].Batch}
	before, err := tr.ValLoss(context.Background(), val)
	if err != nil {
		t.Fatal(err)
	}
	res, err := tr.Run(context.Background(), plan, val)
	if err != nil {
		t.Fatal(err)
	}
	after, _ := tr.ValLoss(context.Background(), val)
	first, last := res.Log[0].Loss, res.Log[len(res.Log)-1].Loss
	t.Logf("val loss %.4f -> %.4f, train loss %.4f -> %.4f, best step %d", before, after, first, last, res.BestStep)
	if !(after < before-0.1) || !(last < first) {
		t.Errorf("loss did not fall: val %.4f -> %.4f, train %.4f -> %.4f", before, after, first, last)
	}
	if res.Steps != 40 || len(res.Log) != 40 || math.IsNaN(res.Log[9].ValLoss) || !math.IsNaN(res.Log[8].ValLoss) {
		t.Errorf("log: %d steps, %d rows", res.Steps, len(res.Log))
	}
}

func weights(t *Trainer) [][]float32 {
	var out [][]float32
	for _, v := range t.model.Trainable {
		out = append(out, tensorsCopy(v))
	}
	return out
}

func TestKilledRunResumesToSameWeights(t *testing.T) {
	dir := staticModel(t, 16)
	plan := synthPlan(30, 6)
	val := []Batch{synthPlan(1, 6)[0].Batch}

	cfg := testConfig()
	cfg.CheckpointDir = filepath.Join(t.TempDir(), "full")
	full := newTestTrainer(t, dir, cfg)
	resFull, err := full.Run(context.Background(), plan, val)
	if err != nil {
		t.Fatal(err)
	}

	cfg.CheckpointDir = filepath.Join(t.TempDir(), "killed")
	ctx, cancel := context.WithCancel(context.Background())
	cfg.OnStep = func(k, _ int) {
		if k == 17 { // checkpoints at 7 and 14: steps 15-17 are lost and redone
			cancel()
		}
	}
	killed := newTestTrainer(t, dir, cfg)
	if _, err := killed.Run(ctx, plan, val); err == nil {
		t.Fatal("cancelled run returned no error")
	}
	cfg.OnStep = nil
	resumed := newTestTrainer(t, dir, cfg) // a fresh process: weights reloaded from model.onnx
	res, err := resumed.Run(context.Background(), plan, val)
	if err != nil {
		t.Fatal(err)
	}
	if res.Resumed != 14 {
		t.Errorf("resumed from step %d, want 14", res.Resumed)
	}
	if res.Steps != resFull.Steps || len(res.Log) != len(resFull.Log) || res.BestStep != resFull.BestStep {
		t.Errorf("resumed run: %d steps, %d log rows, best %d; uninterrupted: %d, %d, %d",
			res.Steps, len(res.Log), res.BestStep, resFull.Steps, len(resFull.Log), resFull.BestStep)
	}
	for i := range res.Log {
		if res.Log[i].Loss != resFull.Log[i].Loss {
			t.Fatalf("step %d: loss %v after resume, %v uninterrupted", i+1, res.Log[i].Loss, resFull.Log[i].Loss)
		}
	}
	a, b := weights(full), weights(resumed)
	for i := range a {
		for j := range a[i] {
			if a[i][j] != b[i][j] {
				t.Fatalf("weight %s[%d]: %v resumed, %v uninterrupted", full.model.Trainable[i].Path(), j, b[i][j], a[i][j])
			}
		}
	}
}

func TestCorruptCheckpointIsReported(t *testing.T) {
	dir := staticModel(t, 8)
	cfg := testConfig()
	cfg.CheckpointDir = t.TempDir()
	tr := newTestTrainer(t, dir, cfg)
	if _, err := tr.Run(context.Background(), synthPlan(7, 4), nil); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(cfg.CheckpointDir, CheckpointFile)
	data, _ := os.ReadFile(path)
	data[len(data)/2] ^= 0xff
	os.WriteFile(path, data, 0o644)
	tr2 := newTestTrainer(t, dir, cfg)
	if _, err := tr2.Run(context.Background(), synthPlan(7, 4), nil); err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Errorf("corrupt checkpoint: err = %v", err)
	}
}

func TestValidationBatches(t *testing.T) {
	var ps []tables.Pair
	for g := 0; g < 10; g++ {
		for k := 0; k < 5; k++ {
			ps = append(ps, tables.Pair{PairID: fmt.Sprintf("g%d-%d", g, k), GroupID: fmt.Sprint(g), QText: "q", PText: "p", Split: "validation"})
		}
	}
	bs := ValidationBatches(ps, 4, 20)
	n := 0
	for _, b := range bs {
		if len(b.Queries) != 4 {
			t.Errorf("batch of %d, want 4", len(b.Queries))
		}
		n += len(b.Queries)
	}
	if n != 20 {
		t.Errorf("%d pairs used, want 20", n)
	}
	if bs := ValidationBatches(ps[:5], 4, 0); len(bs) != 0 {
		t.Errorf("one group gave %d batches; a batch needs two groups", len(bs))
	}
}

func TestHardNegativesAddCandidates(t *testing.T) {
	dir := staticModel(t, 16)
	b := synthPlan(1, 4)[0].Batch
	b.Negatives = []string{"t1 is described here y1 w1", "", "t9 is described here y0 w9", ""}
	cfg := testConfig()
	plain := newTestTrainer(t, dir, cfg)
	cfg.HardNegatives = true
	hard := newTestTrainer(t, dir, cfg)
	lp, err := plain.Loss(b)
	if err != nil {
		t.Fatal(err)
	}
	lh, err := hard.Loss(b)
	if err != nil {
		t.Fatal(err)
	}
	// Two more candidates in every softmax: the loss can only grow.
	if !(lh > lp) {
		t.Errorf("loss with hard negatives %v, without %v", lh, lp)
	}
	if _, _, err := hard.Step(b, 1e-2, 1); err != nil {
		t.Fatal(err)
	}
	b.Negatives = []string{"", "", "", ""}
	lNone, _ := hard.Loss(b)
	lPlain, _ := plain.Loss(b)
	if math.IsNaN(lNone) || math.IsNaN(lPlain) {
		t.Error("NaN loss without negatives")
	}
}

func TestEarlyStoppingKeepsBestAndSurvivesResume(t *testing.T) {
	dir := staticModel(t, 16)
	cfg := testConfig()
	cfg.LR = 0.5 // large enough to overshoot: validation stops improving
	cfg.EvalEvery, cfg.Patience, cfg.CheckpointEvery = 2, 2, 1
	cfg.CheckpointDir = t.TempDir()
	// Validation on pairs the training never sees, with different words.
	val := []Batch{{Queries: []string{"zz1 q", "zz2 q", "zz3 q"}, Passages: []string{"zz1 p", "zz2 p", "zz3 p"}, Negatives: []string{"", "", ""}}}
	tr := newTestTrainer(t, dir, cfg)
	res, err := tr.Run(context.Background(), synthPlan(60, 6), val)
	if err != nil {
		t.Fatal(err)
	}
	if res.StoppedBy != "early_stopping" {
		t.Skipf("validation kept improving (stopped by %s); nothing to check", res.StoppedBy)
	}
	best, _ := tr.ValLoss(context.Background(), val)
	if math.Abs(best-res.BestValLoss) > 1e-6 {
		t.Errorf("kept weights have val loss %v, best was %v", best, res.BestValLoss)
	}
	// A restart after the early stop must not train on.
	again := newTestTrainer(t, dir, cfg)
	res2, err := again.Run(context.Background(), synthPlan(60, 6), val)
	if err != nil {
		t.Fatal(err)
	}
	if res2.Steps != res.Steps || res2.StoppedBy != "early_stopping" {
		t.Errorf("restart: %d steps (%s), first run %d", res2.Steps, res2.StoppedBy, res.Steps)
	}
}

// A checkpoint due less than CheckpointInterval after the last one (or the
// start) is skipped, and skipping changes nothing in the weights.
func TestCheckpointIntervalSkipsCheckpoints(t *testing.T) {
	dir := staticModel(t, 16)
	plan := synthPlan(20, 6)
	val := []Batch{synthPlan(1, 6)[0].Batch}
	run := func(interval time.Duration) (*Trainer, string) {
		cfg := testConfig()
		cfg.CheckpointDir = filepath.Join(t.TempDir(), "ck")
		cfg.CheckpointInterval = interval
		tr := newTestTrainer(t, dir, cfg)
		if _, err := tr.Run(context.Background(), plan, val); err != nil {
			t.Fatal(err)
		}
		return tr, filepath.Join(cfg.CheckpointDir, CheckpointFile)
	}
	every, path := run(0)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("interval 0: %v, want a checkpoint", err)
	}
	spaced, path := run(time.Hour)
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("interval 1h: stat %s: %v, want no checkpoint written", path, err)
	}
	a, b := weights(every), weights(spaced)
	for i := range a {
		for j := range a[i] {
			if a[i][j] != b[i][j] {
				t.Fatalf("weight %s[%d]: %v with checkpoints, %v without", every.model.Trainable[i].Path(), j, a[i][j], b[i][j])
			}
		}
	}
}
