package train

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"

	"github.com/lair-ir/lair/encoder/modelgen"
	"github.com/lair-ir/lair/encoder/onnxpb"
)

// rowsUsed returns the ids the batches of plan use at every step, and
// those used at some steps only.
func rowsUsed(t *testing.T, tr *Trainer, plan []PlannedBatch) (every, some map[int64]bool) {
	t.Helper()
	count := map[int64]int{}
	for _, pb := range plan {
		seen := map[int64]bool{}
		for i, texts := range [][]string{pb.Queries, pb.Passages} {
			prefix := []string{tr.cfg.QueryPrefix, tr.cfg.PassagePrefix}[i]
			idf, _, _, err := tr.tokenize(prefix, texts)
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range idf {
				seen[id] = true
			}
		}
		for id := range seen {
			count[id]++
		}
	}
	every, some = map[int64]bool{}, map[int64]bool{}
	for id, c := range count {
		if c == len(plan) {
			every[id] = true
		} else {
			some[id] = true
		}
	}
	return every, some
}

// numTok is a test tokenizer: a text is its token ids ("3 7 12").
type numTok struct{}

func (numTok) EncodeIDs(text string) ([]int64, error) {
	var ids []int64
	for _, f := range strings.Fields(text) {
		n, err := strconv.Atoi(f)
		if err != nil {
			return nil, err
		}
		ids = append(ids, int64(n))
	}
	return ids, nil
}
func (numTok) PadID() int64 { return 0 }

// When every row of the table is used at every step, lazy AdamW is dense
// AdamW by definition: the sparse and dense optimisers must give the same
// weights (the table and every other weight) and losses, up to float32
// rounding (the gradient is summed in another order).
func TestSparseMatchesDenseWhenEveryRowIsUsed(t *testing.T) {
	const vocab = 24
	for _, arch := range []string{modelgen.ArchStatic, modelgen.ArchBERT} {
		t.Run(arch, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "model")
			if err := modelgen.Generate(dir, modelgen.Config{Arch: arch, Hidden: 16, Layers: 1, Heads: 2, VocabSize: vocab, MaxPositions: 32, Seed: 7}); err != nil {
				t.Fatal(err)
			}
			// 6 pairs per batch; the 12 texts of a batch hold every id.
			rng := rand.New(rand.NewPCG(3, 4))
			var plan []Batch
			for k := 0; k < 10; k++ {
				var b Batch
				perm := rng.Perm(vocab)
				for i := 0; i < 6; i++ {
					text := func(j int) string {
						ids := []string{strconv.Itoa(perm[(4*i+2*j)%vocab]), strconv.Itoa(perm[(4*i+2*j+1)%vocab])}
						for n := rng.IntN(4); n > 0; n-- {
							ids = append(ids, strconv.Itoa(rng.IntN(vocab)))
						}
						return strings.Join(ids, " ")
					}
					b.Queries, b.Passages, b.Negatives = append(b.Queries, text(0)), append(b.Passages, text(1)), append(b.Negatives, "")
				}
				plan = append(plan, b)
			}
			cfg := testConfig()
			cfg.QueryPrefix, cfg.PassagePrefix = "", ""
			cfg.WeightDecay = 0.05 // the decay of the rows is part of the comparison
			load := func(cfg Config) *Trainer {
				m, err := LoadModelWith(dir, numTok{})
				if err != nil {
					t.Fatal(err)
				}
				return trainerOf(t, m, cfg)
			}
			sparse := load(cfg)
			if len(sparse.model.Sparse) != 1 || !sparse.sparse {
				t.Fatalf("%s: %d sparse tables, want 1 (the word embeddings)", arch, len(sparse.model.Sparse))
			}
			cfg.DenseEmbeddings = true
			dense := load(cfg)
			if dense.sparse {
				t.Fatal("DenseEmbeddings left sparse updates on")
			}
			for k, b := range plan {
				lr := LR(cfg.LR, cfg.WarmupFrac, k, len(plan))
				ls, _, err := sparse.Step(b, lr, k+1)
				if err != nil {
					t.Fatal(err)
				}
				if len(sparse.uniq) != vocab {
					t.Fatalf("batch %d uses %d of the %d rows", k, len(sparse.uniq), vocab)
				}
				ld, _, err := dense.Step(b, lr, k+1)
				if err != nil {
					t.Fatal(err)
				}
				if math.Abs(ls-ld) > 1e-5 {
					t.Errorf("step %d: loss %.7f sparse, %.7f dense", k+1, ls, ld)
				}
			}
			a, b := weights(sparse), weights(dense)
			start := weights(load(cfg))
			for i := range a {
				worst, moved := 0.0, 0.0
				for j := range a[i] {
					worst = math.Max(worst, math.Abs(float64(a[i][j]-b[i][j])))
					moved = math.Max(moved, math.Abs(float64(b[i][j]-start[i][j])))
				}
				if worst > 1e-5 || (i == sparse.model.Sparse[0].Trainable && moved < 1e-3) {
					t.Errorf("%s: max |sparse - dense| = %.3g after training moved it by up to %.3g", sparse.model.Trainable[i].Path(), worst, moved)
				}
				if i == sparse.model.Sparse[0].Trainable {
					t.Logf("%s: word embeddings: max |sparse - dense| = %.2g, moved by up to %.2g", arch, worst, moved)
				}
			}
		})
	}
}

// A step leaves the rows its batch does not use exactly as they were:
// weights and both AdamW moments (lazy moments, as PyTorch's SparseAdam).
func TestSparseStepLeavesUnusedRowsAlone(t *testing.T) {
	dir := staticModel(t, 8)
	cfg := testConfig()
	cfg.WeightDecay = 0.1
	tr := newTestTrainer(t, dir, cfg)
	plan := synthPlan(3, 4)
	for k, pb := range plan[:2] {
		if _, _, err := tr.Step(pb.Batch, 1e-2, k+1); err != nil {
			t.Fatal(err)
		}
	}
	ti := tr.model.Sparse[0].Trainable
	d := tr.model.Sparse[0].Dim
	snap := func() [3][]float32 {
		return [3][]float32{tensorsCopy(tr.model.Trainable[ti]), tensorsCopy(tr.opt.m[ti]), tensorsCopy(tr.opt.v[ti])}
	}
	before := snap()
	if _, _, err := tr.Step(plan[2].Batch, 1e-2, 3); err != nil {
		t.Fatal(err)
	}
	after := snap()
	used, _ := rowsUsed(t, tr, plan[2:])
	changed := 0
	for id := 0; id < testVocab; id++ {
		for k := 0; k < d; k++ {
			for a := range after {
				o := id*d + k
				if used[int64(id)] {
					if after[a][o] != before[a][o] {
						changed++
					}
				} else if after[a][o] != before[a][o] {
					t.Fatalf("row %d (unused by the batch), tensor %d, column %d changed: %v -> %v", id, a, k, before[a][o], after[a][o])
				}
			}
		}
	}
	if changed < len(used)*d { // weights, m and v of every used row: nearly all change
		t.Errorf("only %d values of the %d used rows changed", changed, len(used))
	}
}

// The sparse gradient against central finite differences of the loss in
// the table's entries, for both ways of feeding the rows (host-gather for
// the static model, rows gathered in the graph for BERT). The gradient is
// read back from the first step's first moment (m = (1-beta1) * g with
// clipping off), so it is the one the optimiser really receives; lr 0
// leaves the weights as they were.
func TestSparseGradientFiniteDifference(t *testing.T) {
	for _, arch := range []string{modelgen.ArchStatic, modelgen.ArchBERT} {
		t.Run(arch, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "model")
			if err := modelgen.Generate(dir, modelgen.Config{Arch: arch, Hidden: 8, Layers: 1, Heads: 2, VocabSize: testVocab, MaxPositions: 32, Seed: 11}); err != nil {
				t.Fatal(err)
			}
			cfg := testConfig()
			cfg.Scale, cfg.ClipNorm, cfg.WeightDecay = 5, 0, 0
			tr := newTestTrainer(t, dir, cfg)
			if want := arch == modelgen.ArchStatic; tr.hostGather != want {
				t.Fatalf("%s: hostGather = %v, want %v", arch, tr.hostGather, want)
			}
			b := synthPlan(1, 5)[0].Batch
			tb := tr.model.Sparse[0]
			w := tr.model.Trainable[tb.Trainable]
			base := tensorsCopy(w)
			if _, _, err := tr.Step(b, 0, 1); err != nil {
				t.Fatal(err)
			}
			uniq := append([]int64(nil), tr.uniq...)
			m := tensorsCopy(tr.opt.m[tb.Trainable])
			after := tensorsCopy(w)
			for i := range base {
				if after[i] != base[i] {
					t.Fatalf("lr 0 changed weight %d", i)
				}
			}
			const h = 1e-3
			worst, checked := 0.0, 0
			for j, id := range uniq {
				if j%3 != 0 {
					continue
				}
				for k := 0; k < tb.Dim; k += 3 {
					o := int(id)*tb.Dim + k
					eval := func(x float32) float64 {
						p := append([]float32(nil), base...)
						p[o] = x
						if err := setVar(w, p); err != nil {
							t.Fatal(err)
						}
						l, err := tr.Loss(b)
						if err != nil {
							t.Fatal(err)
						}
						return l
					}
					fd := (eval(base[o]+h) - eval(base[o]-h)) / (2 * h)
					got := float64(m[o]) / (1 - cfg.Beta1)
					worst = math.Max(worst, math.Abs(got-fd)/(1e-2+math.Abs(fd)))
					checked++
				}
			}
			t.Logf("%s: %d entries of %d rows: max |grad - finite difference| / (0.01 + |fd|) = %.2g", arch, checked, len(uniq), worst)
			if checked < 20 || worst > 2e-2 {
				t.Errorf("checked %d entries, max relative error %.3g (want <= 2e-2)", checked, worst)
			}
		})
	}
}

func TestRowBucket(t *testing.T) {
	for _, c := range [][2]int{{1, 64}, {64, 64}, {65, 96}, {96, 96}, {97, 128}, {129, 192}, {193, 256}, {2500, 3072}, {3073, 4096}} {
		if got := rowBucket(c[0]); got != c[1] {
			t.Errorf("rowBucket(%d) = %d, want %d", c[0], got, c[1])
		}
	}
}

// Every graph style lair generates (its own, and the torch.onnx / dynamo
// exporter styles of BERT, XLM-R and DistilBERT, with external data or
// initializers as inputs) has its token-embedding table trained sparsely.
func TestEveryGraphStyleTrainsEmbeddingsSparsely(t *testing.T) {
	for _, v := range modelgen.Variants() {
		dir := filepath.Join(t.TempDir(), v.Name)
		c := v.Apply(modelgen.Config{Hidden: 16, Layers: 1, Heads: 2, Intermediate: 32, VocabSize: testVocab, MaxPositions: 32, Seed: 5})
		if err := modelgen.Generate(dir, c); err != nil {
			t.Fatal(err)
		}
		tr := newTestTrainer(t, dir, testConfig())
		if len(tr.model.Sparse) != 1 || tr.model.Sparse[0].Rows < testVocab || !tr.sparse {
			t.Errorf("%s: sparse tables %+v, want the %d-row token embeddings", v.Name, tr.model.Sparse, testVocab)
		}
		if want := v.Name == modelgen.ArchStatic; tr.hostGather != want {
			t.Errorf("%s: hostGather = %v, want %v", v.Name, tr.hostGather, want)
		}
	}
}

// outputOp returns the op type of the node that computes output in an ONNX
// file's bytes.
func outputOp(t *testing.T, data []byte, output string) string {
	t.Helper()
	m, err := onnxpb.DecodeStructure(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range m.Graph.Nodes {
		if slices.Contains(n.Outputs, output) {
			return n.OpType
		}
	}
	t.Fatalf("no node computes %s", output)
	return ""
}

// The static model's token states are its rows times the attention mask;
// the training view drops that multiply (lair's pooling applies the same
// 0/1 mask), and the step then takes the gradient of the pooled sums
// (Trainer.poolGrad). Training that way and through the view with the
// multiply (the embeddings' gradient, summed into rows) gives
// bit-identical losses and weights on batches with padding. Graphs whose
// output is anything else keep their view as it was.
func TestStaticViewDropsTheOutputMask(t *testing.T) {
	for _, v := range modelgen.Variants() {
		dir := filepath.Join(t.TempDir(), v.Name)
		if err := modelgen.Generate(dir, v.Apply(modelgen.Config{Hidden: 8, Layers: 1, Heads: 2, VocabSize: testVocab, MaxPositions: 32, Seed: 5})); err != nil {
			t.Fatal(err)
		}
		m, err := LoadModelWith(dir, wordTok{testVocab})
		if err != nil {
			t.Fatal(err)
		}
		raw := readView(t, dir)
		view, _, rowsOut, err := sparseView(raw, m.Output, func(string) (int, bool) { return 0, true })
		if err != nil {
			t.Fatal(err)
		}
		want := "Identity"
		if v.Arch != modelgen.ArchStatic {
			want = outputOp(t, raw, m.Output) // untouched
		}
		if got := outputOp(t, view, m.Output); got != want {
			t.Errorf("%s: the view computes %s with %s, want %s", v.Name, m.Output, got, want)
		}
		if rowsOut != (v.Arch == modelgen.ArchStatic) {
			t.Errorf("%s: sparseView reports rowsOut %v", v.Name, rowsOut)
		}
	}

	dir := staticModel(t, 16)
	plan := synthPlan(12, 6)
	cfg := testConfig()
	cfg.WeightDecay = 0.05
	train := func(keepMask bool) (*Trainer, []float64) {
		m, err := LoadModelWith(dir, wordTok{testVocab})
		if err != nil {
			t.Fatal(err)
		}
		if keepMask {
			if err := m.loadSparseView(readView(t, dir), ""); err != nil {
				t.Fatal(err)
			}
		}
		be, err := NewBackend()
		if err != nil {
			t.Fatal(err)
		}
		tr, err := NewTrainer(m, cfg, be)
		if err != nil {
			t.Fatal(err)
		}
		var losses []float64
		for k, pb := range plan {
			l, _, err := tr.Step(pb.Batch, LR(cfg.LR, cfg.WarmupFrac, k, len(plan)), k+1)
			if err != nil {
				t.Fatal(err)
			}
			losses = append(losses, l)
		}
		return tr, losses
	}
	dropped, ld := train(false)
	kept, lk := train(true)
	if !dropped.poolGrad() || kept.poolGrad() {
		t.Fatalf("poolGrad: %v without the mask multiply, %v with it; want true, false", dropped.poolGrad(), kept.poolGrad())
	}
	if ids, mask, _ := kept.Tensorize("", plan[0].Queries); !slices.Contains(tensors.MustCopyFlatData[int64](mask), 0) {
		t.Fatalf("no padding in the test batches (ids %v): the comparison would prove nothing", ids.Shape())
	}
	if !slices.Equal(ld, lk) {
		t.Errorf("losses without the mask multiply %v, with it %v", ld, lk)
	}
	a, b := weights(dropped), weights(kept)
	for i := range a {
		for j := range a[i] {
			if a[i][j] != b[i][j] {
				t.Fatalf("weight %s[%d]: %v without the mask multiply, %v with it", dropped.model.Trainable[i].Path(), j, a[i][j], b[i][j])
			}
		}
	}
}

// readView returns a model folder's ONNX bytes as LoadModelWith hands them
// to the training view.
func readView(t *testing.T, dir string) []byte {
	t.Helper()
	path, err := ONNXPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if raw, _, err = onnxpb.DropInitializerInputs(raw); err != nil {
		t.Fatal(err)
	}
	return raw
}
