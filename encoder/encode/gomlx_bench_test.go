package encode_test

import (
	"context"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/lair-ir/lair/datasets/lareqa"
	"github.com/lair-ir/lair/encoder/encode"
	"github.com/lair-ir/lair/encoder/model"
	"github.com/lair-ir/lair/encoder/modelgen"
	"github.com/lair-ir/lair/internal/testenv"
)

// cpuSeconds is the process's user + system CPU time.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}

// BenchmarkBackendsMiniLM compares end-to-end encoding (no cache) with
// backend ort and backend gomlx (GoMLX's pure-Go CPU backend) on a
// generated encoder the size of all-MiniLM-L12 (12 layers, 384 wide, 12
// heads, 1536 FFN, 30,522 tokens, vocabulary learned from the texts) over
// 256 XQuAD-R candidates spread over its languages. One warm-up call per
// backend (graph building) is not timed. Recorded in bench/RESULTS.md:
//
//	go test ./encoder/encode -run '^$' -bench BackendsMiniLM -benchtime 1x -count 3
func BenchmarkBackendsMiniLM(b *testing.B) {
	lib := testenv.ORTLib(b)
	raw := testenv.RawDir(b)
	ctx := context.Background()
	res, err := lareqa.LoadDir(ctx, lareqa.XQuADR, filepath.Join(raw, "xquad-r"), lareqa.XQuADR.Languages)
	if err != nil {
		b.Fatal(err)
	}
	var all []string
	for _, c := range res.Candidates {
		all = append(all, c.Text)
	}
	const n = 256
	texts := make([]string, 0, n)
	for i := 0; i < n; i++ {
		texts = append(texts, all[i*len(all)/n])
	}
	dir := b.TempDir()
	if err := modelgen.Generate(dir, modelgen.Config{Arch: modelgen.ArchBERT, Layers: 12, Hidden: 384, Heads: 12, Intermediate: 1536,
		MaxPositions: 512, VocabSize: 30522, Seed: 1, Corpus: all}); err != nil {
		b.Fatal(err)
	}
	m, err := model.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	for _, be := range []string{encode.BackendORT, encode.BackendGoMLX} {
		b.Run(be, func(b *testing.B) {
			e, err := encode.New(m, encode.Options{Backend: be, Normalize: true, MaxLength: 128, BatchSize: 32, Lib: lib})
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			if _, _, _, err := e.Encode(ctx, "passage", "Passage: ", texts[:32], nil); err != nil { // warm-up
				b.Fatal(err)
			}
			cpu0 := cpuSeconds()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, _, _, err := e.Encode(ctx, "passage", "Passage: ", texts, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(texts)*b.N)/b.Elapsed().Seconds(), "texts/s")
			// CPU time (all threads) per text: less sensitive to other load than wall time.
			b.ReportMetric((cpuSeconds()-cpu0)/float64(len(texts)*b.N)*1000, "cpu-ms/text")
		})
	}
}
