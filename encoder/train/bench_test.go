package train

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gomlx/gomlx/core/tensors"
	ort "github.com/yalue/onnxruntime_go"

	"github.com/lair-ir/lair/batching"
	"github.com/lair-ir/lair/datasets/lareqa"
	"github.com/lair-ir/lair/datasets/pairs"
	"github.com/lair-ir/lair/encoder/modelgen"
	lairort "github.com/lair-ir/lair/encoder/ort"
	"github.com/lair-ir/lair/encoder/tiny"
	"github.com/lair-ir/lair/internal/testenv"
	"github.com/lair-ir/lair/tables"
)

// benchData is XQuAD-R's train pairs, a hybrid plan of batch 32 and the
// tiny vocabulary learned from them.
type benchData struct {
	plan  []PlannedBatch
	texts []string
	tok   string // tokenizer.json learned by model/tiny
}

// benchPairs and benchMaxLen set the batch of BenchmarkStepVsORTForward
// (LAIR_BENCH_PAIRS, default 32; LAIR_BENCH_MAXLEN, default 64) and how
// many steps it times (LAIR_BENCH_STEPS, default 5).
func benchPairs() int  { return envInt("LAIR_BENCH_PAIRS", 32) }
func benchMaxLen() int { return envInt("LAIR_BENCH_MAXLEN", 64) }

func envInt(name string, def int) int {
	var v int
	if _, err := fmt.Sscan(os.Getenv(name), &v); err == nil && v > 0 {
		return v
	}
	return def
}

// benchVerbose prints every step's time to stderr (LAIR_BENCH_VERBOSE=1).
var benchVerbose = os.Getenv("LAIR_BENCH_VERBOSE") == "1"

var (
	benchOnce sync.Once
	benchD    benchData
	benchErr  error
)

func loadBench(b *testing.B) benchData {
	raw := testenv.RawDir(b)
	dir := b.TempDir()
	benchOnce.Do(func() {
		xq, err := lareqa.LoadDir(context.Background(), lareqa.XQuADR, filepath.Join(raw, "xquad-r"), lareqa.XQuADR.Languages)
		if err != nil {
			benchErr = err
			return
		}
		ps, _, err := pairs.FromDataset(&xq.Dataset, pairs.Options{ValidationFraction: 0.1, Seed: 1})
		if err != nil {
			benchErr = err
			return
		}
		plan, err := batching.Build(ps, batching.Config{Strategy: batching.StrategyHybrid, Alpha: 0.5, BatchSize: 32, Epochs: 1, Seed: 1})
		if err != nil {
			benchErr = err
			return
		}
		seen := map[string]bool{}
		for _, bt := range plan.Batches {
			var pb PlannedBatch
			for _, i := range bt.Pairs {
				p := plan.Pairs[i]
				pb.Queries, pb.Passages, pb.Negatives = append(pb.Queries, p.QText), append(pb.Passages, p.PText), append(pb.Negatives, "")
			}
			benchD.plan = append(benchD.plan, pb)
		}
		for _, p := range ps {
			if p.Split == "train" {
				for _, s := range []string{p.QText, p.PText} {
					if !seen[s] {
						seen[s] = true
						benchD.texts = append(benchD.texts, s)
					}
				}
			}
		}
		if benchVerbose {
			fmt.Fprintf(os.Stderr, "data: %d batches, %d texts\n", len(benchD.plan), len(benchD.texts))
		}
		md := filepath.Join(dir, "tiny")
		if err := tiny.Build(md, benchD.texts, tiny.Config{}); err != nil {
			benchErr = err
			return
		}
		benchD.tok = filepath.Join(md, "tokenizer.json")
		_ = tables.Pair{}
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchD
}

// benchModel makes the model of a benchmark: "static" (the tiny default)
// or "minilm" (BERT, 6 layers, width 384, 12 heads, FFN 1536: the shape of
// all-MiniLM-L6-v2, with the tiny vocabulary).
func benchModel(b *testing.B, kind string, d benchData) string {
	dir := filepath.Join(b.TempDir(), kind)
	c := modelgen.Config{Arch: modelgen.ArchStatic, Hidden: 128, Tokenizer: d.tok, Seed: 1}
	if kind == "minilm" {
		c = modelgen.Config{Arch: modelgen.ArchBERT, Layers: 6, Hidden: 384, Heads: 12, Intermediate: 1536, Tokenizer: d.tok, Seed: 1}
	}
	if err := modelgen.Generate(dir, c); err != nil {
		b.Fatal(err)
	}
	return dir
}

func benchTrainer(b *testing.B, dir string, maxLen int) *Trainer {
	m, err := LoadModel(dir)
	if err != nil {
		b.Fatal(err)
	}
	if p := os.Getenv("LAIR_BENCH_PRECISION"); p != "" { // fp32 (default) or bf16
		if err := m.SetPrecision(Precision(p)); err != nil {
			b.Fatal(err)
		}
	}
	be, err := NewBackend()
	if err != nil {
		b.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.LR, cfg.MaxLength = 1e-3, maxLen
	tr, err := NewTrainer(m, cfg, be)
	if err != nil {
		b.Fatal(err)
	}
	return tr
}

// cpuTime is the process's user+system CPU time (getrusage): unlike wall
// time, waiting for a CPU on a loaded machine does not inflate it.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkTrainStep: pairs per second of training (batch 32, max 64
// tokens), after the shapes of the first batches are compiled.
//
//	GOEXPERIMENT=simd go test ./encoder/train -run '^$' -bench TrainStep -benchtime 40x
func BenchmarkTrainStep(b *testing.B) {
	d := loadBench(b)
	for _, kind := range []string{"static", "minilm"} {
		b.Run(kind, func(b *testing.B) {
			tr := benchTrainer(b, benchModel(b, kind, d), 64)
			b.Logf("%s: %d parameters", kind, tr.Model().NumParams())
			for k := 0; k < 4; k++ { // compile the common shapes
				if benchVerbose {
					fmt.Fprintf(os.Stderr, "%s warm-up step %d\n", kind, k)
				}
				if _, _, err := tr.Step(d.plan[k].Batch, 1e-3, k+1); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			start, n, cpu0 := time.Now(), 0, cpuTime()
			for i := 0; i < b.N; i++ {
				bt := d.plan[(4+i)%len(d.plan)].Batch
				t0 := time.Now()
				if _, _, err := tr.Step(bt, 1e-3, 5+i); err != nil {
					b.Fatal(err)
				}
				n += len(bt.Queries)
				if benchVerbose {
					fmt.Fprintf(os.Stderr, "%s step %d: %v\n", kind, i, time.Since(t0))
				}
			}
			b.ReportMetric(float64(n)/time.Since(start).Seconds(), "pairs/s")
			b.ReportMetric(float64(n)/(cpuTime()-cpu0).Seconds(), "pairs/cpu_s")
		})
	}
}

// BenchmarkStepVsORTForward times, on one fixed batch of 32 pairs, a
// GoMLX training step and an ONNX Runtime forward pass over the same
// tokens (queries and passages).
//
//	GOEXPERIMENT=simd go test ./encoder/train -run '^$' -bench StepVsORT -benchtime 10x
func BenchmarkStepVsORTForward(b *testing.B) {
	lib := testenv.ORTLib(b)
	d := loadBench(b)
	for _, kind := range []string{"static", "minilm"} {
		b.Run(kind, func(b *testing.B) {
			dir := benchModel(b, kind, d)
			tr := benchTrainer(b, dir, benchMaxLen())
			bt := d.plan[0].Batch
			if n := benchPairs(); n < len(bt.Queries) {
				bt = Batch{Queries: bt.Queries[:n], Passages: bt.Passages[:n], Negatives: bt.Negatives[:n]}
			}
			qi, qm, _ := tr.Tensorize(tr.cfg.QueryPrefix, bt.Queries)
			pi, pm, _ := tr.Tensorize(tr.cfg.PassagePrefix, bt.Passages)
			// Compile, then time steps.
			if _, _, err := tr.Step(bt, 1e-3, 1); err != nil {
				b.Fatal(err)
			}
			t0, cpu0 := time.Now(), cpuTime()
			steps := envInt("LAIR_BENCH_STEPS", 5)
			for k := 0; k < steps; k++ {
				t0 := time.Now()
				if _, _, err := tr.Step(bt, 1e-3, k+2); err != nil {
					b.Fatal(err)
				}
				if benchVerbose {
					fmt.Fprintf(os.Stderr, "%s step %d: %v\n", kind, k, time.Since(t0))
				}
			}
			step := time.Since(t0) / time.Duration(steps)
			stepCPU := (cpuTime() - cpu0) / time.Duration(steps)

			// GoMLX's own forward pass of the same tokens (pooled
			// embeddings, no gradient), to split the ratio into the
			// step's extra work and the backend's speed against ORT.
			gfwd := func() {
				for _, in := range [][2]*tensors.Tensor{{qi, qm}, {pi, pm}} {
					if _, err := tr.embed.Call(in[0], in[1]); err != nil {
						b.Fatal(err)
					}
				}
			}
			gfwd() // compile
			t2, cpu2 := time.Now(), cpuTime()
			gfwd()
			gmlxFwd, gmlxFwdCPU := time.Since(t2), cpuTime()-cpu2

			if err := lairort.Init(lib); err != nil {
				b.Fatal(err)
			}
			opts, _ := ort.NewSessionOptions()
			opts.SetIntraOpNumThreads(2)
			defer opts.Destroy()
			in := []string{"input_ids", "attention_mask"}
			if tr.model.HasTokenTypes {
				in = append(in, "token_type_ids")
			}
			sess, err := ort.NewDynamicAdvancedSession(filepath.Join(dir, "model.onnx"), in, []string{"last_hidden_state"}, opts)
			if err != nil {
				b.Fatal(err)
			}
			defer sess.Destroy()
			run := func(ids, mask *tensors.Tensor) {
				s := ids.Shape()
				shape := ort.NewShape(int64(s.Dim(0)), int64(s.Dim(1)))
				it, _ := ort.NewTensor(shape, tensors.MustCopyFlatData[int64](ids))
				mt, _ := ort.NewTensor(shape, tensors.MustCopyFlatData[int64](mask))
				inputs := []ort.Value{it, mt}
				if tr.model.HasTokenTypes {
					tt, _ := ort.NewTensor(shape, make([]int64, s.Size()))
					inputs = append(inputs, tt)
				}
				outputs := []ort.Value{nil}
				if err := sess.Run(inputs, outputs); err != nil {
					b.Fatal(err)
				}
				for _, v := range append(inputs, outputs...) {
					v.Destroy()
				}
			}
			run(qi, qm)
			run(pi, pm)
			b.ResetTimer()
			t1, cpu1 := time.Now(), cpuTime()
			for i := 0; i < b.N; i++ {
				run(qi, qm)
				run(pi, pm)
			}
			fwd := time.Since(t1) / time.Duration(b.N)
			fwdCPU := (cpuTime() - cpu1) / time.Duration(b.N)
			b.ReportMetric(float64(step.Milliseconds()), "step_ms")
			b.ReportMetric(float64(fwd.Microseconds())/1000, "ort_fwd_ms")
			b.ReportMetric(float64(step)/float64(fwd), "step/fwd")
			b.ReportMetric(float64(stepCPU.Milliseconds()), "step_cpu_ms")
			b.ReportMetric(float64(fwdCPU.Microseconds())/1000, "ort_fwd_cpu_ms")
			b.ReportMetric(float64(stepCPU)/float64(fwdCPU), "step/fwd_cpu")
			b.ReportMetric(float64(gmlxFwdCPU.Microseconds())/1000, "gomlx_fwd_cpu_ms")
			b.ReportMetric(float64(stepCPU)/float64(gmlxFwdCPU), "step/gomlx_fwd_cpu")
			b.ReportMetric(float64(gmlxFwdCPU)/float64(fwdCPU), "gomlx_fwd/ort_fwd_cpu")
			b.Logf("%s: GoMLX forward %v wall, %v CPU", kind, gmlxFwd, gmlxFwdCPU)
			b.Logf("%s: %d pairs, query len %d, passage len %d: step %v, ORT forward %v, ratio %.1f", kind, len(bt.Queries), qi.Shape().Dim(1), pi.Shape().Dim(1), step, fwd, float64(step)/float64(fwd))
		})
	}
}
