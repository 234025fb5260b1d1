package tokenizer

import (
	"context"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// BenchmarkEncode encodes the XQuAD-R golden texts (11 languages) one at a
// time on one goroutine; MB/s is input text bytes per second per core.
func BenchmarkEncode(b *testing.B) {
	texts := readJSONL[goldenText](b, filepath.Join("testdata", "golden", "texts.jsonl.gz"))
	var total int64
	for _, tx := range texts {
		total += int64(len(tx.Text))
	}
	for _, fx := range goldenFixtures {
		tk := loadFixture(b, fx)
		b.Run(strings.TrimSuffix(fx, ".json.gz"), func(b *testing.B) {
			b.SetBytes(total)
			b.ReportAllocs()
			cpu0 := cpuSeconds()
			for i := 0; i < b.N; i++ {
				for _, tx := range texts {
					if _, err := tk.Encode(tx.Text, true); err != nil {
						b.Fatal(err)
					}
				}
			}
			// On a shared machine wall-clock MB/s understates the speed of
			// one core; MB per CPU-second (GC included) does not.
			if cpu := cpuSeconds() - cpu0; cpu > 0 {
				b.ReportMetric(float64(total)*float64(b.N)/1e6/cpu, "MB/cpu-s")
			}
		})
	}
}

// BenchmarkEncodeBatch encodes the same texts with EncodeBatch (all cores).
func BenchmarkEncodeBatch(b *testing.B) {
	texts := readJSONL[goldenText](b, filepath.Join("testdata", "golden", "texts.jsonl.gz"))
	var total int64
	strs := make([]string, len(texts))
	for i, tx := range texts {
		strs[i] = tx.Text
		total += int64(len(tx.Text))
	}
	for _, fx := range []string{"all-minilm-l6-v2.json.gz", "xlmr-synth.json.gz"} {
		tk := loadFixture(b, fx)
		tk.SetPadding(nil)
		b.Run(strings.TrimSuffix(fx, ".json.gz"), func(b *testing.B) {
			b.SetBytes(total)
			for i := 0; i < b.N; i++ {
				if _, err := tk.EncodeBatch(context.Background(), strs, true); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// cpuSeconds is the user+system CPU time of this process.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}

// BenchmarkPathological encodes inputs that make naive implementations
// quadratic: one 200k-letter word (BPE merges), 90k combining marks after
// one letter (canonical reordering), 1 MB of Thai without spaces (Unigram
// lattice, WordPiece word limit) and 100k "<" (added-token matching).
func BenchmarkPathological(b *testing.B) {
	inputs := map[string]string{
		"long-word":  strings.Repeat("thequickbrownfox", 12500),
		"marks":      "a" + strings.Repeat("\u0301\u0316\u0300", 30000),
		"thai":       strings.Repeat("ภาษาไทยไม่มีช่องว่าง", 20000),
		"angle-less": strings.Repeat("<", 100000),
	}
	for _, fx := range []string{"bpe-bytelevel-synth.json.gz", "t5-small.json.gz", "all-minilm-l6-v2.json.gz"} {
		tk := loadFixture(b, fx)
		tk.SetTruncation(0)
		tk.SetPadding(nil)
		for _, name := range []string{"long-word", "marks", "thai", "angle-less"} {
			in := inputs[name]
			b.Run(strings.TrimSuffix(fx, ".json.gz")+"/"+name, func(b *testing.B) {
				b.SetBytes(int64(len(in)))
				for i := 0; i < b.N; i++ {
					if _, err := tk.Encode(in, true); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
