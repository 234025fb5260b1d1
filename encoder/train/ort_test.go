package train

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"
	ort "github.com/yalue/onnxruntime_go"

	"github.com/lair-ir/lair/encoder/modelgen"
	lairort "github.com/lair-ir/lair/encoder/ort"
	"github.com/lair-ir/lair/internal/testenv"
)

// initORT initialises ONNX Runtime once for the process, through lair's
// ort package (which the encode stage uses too).
func initORT(t *testing.T) {
	if err := lairort.Init(testenv.ORTLib(t)); err != nil {
		t.Fatal(err)
	}
}

// ortEmbed runs model.onnx in ONNX Runtime and pools like lair does.
func ortEmbed(t *testing.T, path string, ids, mask []int64, b, s int, tokenTypes bool, output string) [][]float32 {
	t.Helper()
	in := []string{"input_ids", "attention_mask"}
	if tokenTypes {
		in = append(in, "token_type_ids")
	}
	sess, err := ort.NewDynamicAdvancedSession(path, in, []string{output}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Destroy()
	shape := ort.NewShape(int64(b), int64(s))
	it, _ := ort.NewTensor(shape, ids)
	mt, _ := ort.NewTensor(shape, mask)
	inputs := []ort.Value{it, mt}
	if tokenTypes {
		tt, _ := ort.NewTensor(shape, make([]int64, b*s))
		inputs = append(inputs, tt)
	}
	outputs := []ort.Value{nil}
	if err := sess.Run(inputs, outputs); err != nil {
		t.Fatal(err)
	}
	for _, v := range append(inputs, outputs...) {
		defer v.Destroy()
	}
	h := outputs[0].(*ort.Tensor[float32]).GetData()
	d := len(h) / (b * s)
	out := make([][]float32, b)
	for i := 0; i < b; i++ {
		v := make([]float64, d)
		cnt := 0.0
		for j := 0; j < s; j++ {
			if mask[i*s+j] == 0 {
				continue
			}
			cnt++
			for k := 0; k < d; k++ {
				v[k] += float64(h[(i*s+j)*d+k])
			}
		}
		n := 0.0
		for k := range v {
			v[k] /= math.Max(cnt, 1)
			n += v[k] * v[k]
		}
		n = math.Sqrt(n + 1e-12)
		out[i] = make([]float32, d)
		for k := range v {
			out[i][k] = float32(v[k] / n)
		}
	}
	return out
}

func TestExportedModelMatchesORT(t *testing.T) {
	initORT(t)
	for _, arch := range []string{modelgen.ArchStatic, modelgen.ArchBERT, modelgen.ArchXLMR} {
		t.Run(arch, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "model")
			if err := modelgen.Generate(dir, modelgen.Config{Arch: arch, Hidden: 32, Layers: 2, Heads: 2, VocabSize: testVocab, MaxPositions: 64, Seed: 5}); err != nil {
				t.Fatal(err)
			}
			cfg := testConfig()
			cfg.LR = 1e-2
			tr := newTestTrainer(t, dir, cfg)
			if len(tr.model.Sparse) != 1 || tr.model.Sparse[0].Name != "embeddings.word_embeddings.weight" {
				t.Fatalf("%s: sparse tables %+v, want the word embeddings", arch, tr.model.Sparse)
			}
			before := weights(tr)
			if _, err := tr.Run(context.Background(), synthPlan(5, 4), nil); err != nil {
				t.Fatal(err)
			}
			changed := false
			for i, w := range weights(tr) {
				for j := range w {
					changed = changed || w[j] != before[i][j]
				}
			}
			if !changed {
				t.Fatal("training changed no weight")
			}
			out := filepath.Join(t.TempDir(), "trained")
			if err := tr.Export(out); err != nil {
				t.Fatal(err)
			}
			texts := []string{"what about t3 x3", "t7 is described here", "a b c d e f g h i j k l m n o p q r s", "x"}
			got, want := embedBoth(t, tr, filepath.Join(out, "model.onnx"), texts)
			worst := maxAbsDiff(got, want)
			t.Logf("%s: max |GoMLX - ORT| = %.2g", arch, worst)
			if worst > 1e-5 {
				t.Errorf("%s: exported model differs from the trained one by %.3g (> 1e-5)", arch, worst)
			}
			// The untrained model must differ (the export really holds new weights).
			_, orig := embedBoth(t, tr, filepath.Join(dir, "model.onnx"), texts)
			diff := maxAbsDiff(orig, want)
			if diff < 1e-4 {
				t.Errorf("%s: exported embeddings equal the untrained model's", arch)
			}
		})
	}
}

// embedBoth embeds texts with the trainer's graph and with ONNX Runtime on
// the ONNX file at path (the same token ids and mask).
func embedBoth(t *testing.T, tr *Trainer, path string, texts []string) (gomlx, ortOut [][]float32) {
	t.Helper()
	ids, mask, err := tr.Tensorize("", texts)
	if err != nil {
		t.Fatal(err)
	}
	gomlx, err = tr.Embed(texts)
	if err != nil {
		t.Fatal(err)
	}
	ortOut = ortEmbed(t, path, tensors.MustCopyFlatData[int64](ids), tensors.MustCopyFlatData[int64](mask),
		len(texts), ids.Shape().Dim(1), tr.model.HasTokenTypes, tr.model.Output)
	return gomlx, ortOut
}

// maxAbsDiff is the largest |a - b| over two equally shaped sets of vectors.
func maxAbsDiff(a, b [][]float32) float64 {
	worst := 0.0
	for i := range a {
		for k := range a[i] {
			worst = math.Max(worst, math.Abs(float64(a[i][k]-b[i][k])))
		}
	}
	return worst
}
