package bias

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkPEER100XQuADRMulti computes PEER@100 for 13,090 queries over an
// 11-language pool (the XQuAD-R multi setting): one iteration is the
// whole setting. BenchmarkPreferenceXQuADRMulti does pref@10 and pref@100.
func BenchmarkPEER100XQuADRMulti(b *testing.B) {
	langs := []string{"ar", "de", "el", "en", "es", "hi", "ru", "th", "tr", "vi", "zh"}
	r := rand.New(rand.NewPCG(1, 1))
	top := make([]Doc, 100)
	for i := range top {
		top[i] = Doc{Lang: langs[r.IntN(len(langs))], Grade: int32(min(1, r.IntN(20)/19))}
	}
	unret := []Doc{{"de", 1}, {"zh", 1}, {"th", 1}}
	b.ReportAllocs()
	for range b.N {
		for range 13090 {
			PEER(top, unret, 100, DefaultPEERWeights)
		}
	}
}

func BenchmarkPreferenceXQuADRMulti(b *testing.B) {
	langs := []string{"ar", "de", "el", "en", "es", "hi", "ru", "th", "tr", "vi", "zh"}
	top := make([]string, 1000)
	for i := range top {
		top[i] = langs[i%len(langs)]
	}
	b.ReportAllocs()
	for range b.N {
		for range 13090 {
			Preference(top, "en", 10, 1.0/11)
			Preference(top, "en", 100, 1.0/11)
		}
	}
}
