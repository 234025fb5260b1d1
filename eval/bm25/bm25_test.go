package bm25

import (
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/lair-ir/lair/eval/search"
)

func TestAnalyzer(t *testing.T) {
	for _, c := range []struct {
		lang, text string
		want       []string
	}{
		{"en", "The River's BANKS, 2024!", []string{"the", "river", "s", "banks", "2024"}},
		{"de", "Straße und STRASSE", []string{"strasse", "und", "strasse"}},
		{"tr", "İstanbul ILIK", []string{"istanbul", "ılık"}},
		{"zh", "北京大学在哪里？", []string{"北京", "京大", "大学", "学在", "在哪", "哪里"}},
		{"zh", "我 用 iPhone15 拍照", []string{"我", "用", "iphone15", "拍照"}},
		{"ja", "東京タワーは", []string{"東京", "京タ", "タワ", "ワー", "ーは"}},
		// NFKC splits SARA AM (U+0E33) into NIKHAHIT (a mark) + SARA AA.
		{"th", "แม่น้ำ สวน", []string{"แม\u0e48", "ม\u0e48น\u0e49\u0e4d", "น\u0e49\u0e4d\u0e32", "สว", "วน"}},
		{"ar", "ما هو النهر؟", []string{"ما", "هو", "النهر"}},
		{"el", "ΠΟΤΑΜΟΣ ποταμός", []string{"ποταμοσ", "ποταμόσ"}},
		{"en", "ﬁne ＡＢＣ", []string{"fine", "abc"}},
		{"en", "", nil},
	} {
		got := NewAnalyzer(c.lang).Tokens(nil, c.text)
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s %q: got %q want %q", c.lang, c.text, got, c.want)
		}
	}
}

func FuzzAnalyzer(f *testing.F) {
	for _, s := range []string{"hello world", "北京大学", "แม่น้ำ", "İ", "\xff\xfe", "a\u0301b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, lang := range []string{"en", "tr", "zh"} {
			for _, tok := range NewAnalyzer(lang).Tokens(nil, s) {
				if tok == "" || strings.ContainsAny(tok, " \t\n") {
					t.Fatalf("bad token %q from %q", tok, s)
				}
			}
		}
	})
}

func TestScoreByHand(t *testing.T) {
	docs := []string{"a b", "a a c d", "c"}
	an := NewAnalyzer("en")
	ix := Build(docs, 0, func(i int, s string) []string { return an.Tokens(nil, s) }, Params{K1: 1.2, B: 0.75})
	row := make([]float32, 3)
	ix.Score([]string{"a", "a", "z"}, row)
	// N=3, df(a)=2, idf = ln(1 + 1.5/2.5); avgdl = 7/3
	idf := math.Log(1 + 1.5/2.5)
	bm := func(tf, dl float64) float64 { return idf * tf * 2.2 / (tf + 1.2*(0.25+0.75*dl/(7.0/3))) }
	want := []float64{bm(1, 2), bm(2, 4), 0}
	for i := range want {
		if math.Abs(float64(row[i])-want[i]) > 1e-6 {
			t.Errorf("doc %d: %v want %v", i, row[i], want[i])
		}
	}
}

func TestScorerLanguageBias(t *testing.T) {
	qs := []string{"river castle"}
	ql := []string{"en"}
	cands := []string{"the river castle", "music", "Fluss Burg", "river"}
	cl := []string{"en", "en", "de", "de"}
	segs := []search.Segment{{Name: "de", Lo: 2, Hi: 4}, {Name: "en", Lo: 0, Hi: 2}}
	segs = []search.Segment{{Name: "en", Lo: 0, Hi: 2}, {Name: "de", Lo: 2, Hi: 4}}
	for _, pooled := range []bool{false, true} {
		s, err := NewScorer(qs, ql, cands, cl, segs, pooled, DefaultParams)
		if err != nil {
			t.Fatal(err)
		}
		w := s.NewWorker()
		if err := w.Prepare([]int{0}, []bool{true, true}); err != nil {
			t.Fatal(err)
		}
		tile := make([]float32, 4)
		w.Tile([]int{0}, 0, 4, tile)
		if !(tile[0] > tile[3] && tile[3] > 0 && tile[1] == 0 && tile[2] == 0) {
			t.Errorf("pooled=%v: scores %v", pooled, tile)
		}
		if w.Pair(0, 3) != tile[3] {
			t.Error("Pair differs from Tile")
		}
	}
	if _, err := NewScorer(qs, ql, cands, cl, segs, true, Params{K1: 1, B: 2}); err == nil {
		t.Error("b = 2 accepted")
	}
}
