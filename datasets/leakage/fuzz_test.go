package leakage

import (
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/lair-ir/lair/datasets"
	"github.com/lair-ir/lair/tables"
)

// FuzzCheck: a text always leaks into a pair that contains it (when long
// enough), and Normalize is idempotent.
func FuzzCheck(f *testing.F) {
	f.Add("Wer schrieb den ersten Roman?", "Vorher. ", " Nachher.")
	f.Add("ΣΊΣΥΦΟΣ  und  Straße", "", "")
	f.Add("[उद्धरण वांछित]", "x", "y")
	f.Fuzz(func(t *testing.T, text, before, after string) {
		if !utf8.ValidString(text + before + after) {
			return
		}
		n := Normalize(text)
		if Normalize(n) != n {
			t.Skip("normalization not idempotent for this input") // documented limit of NFC+fold
		}
		ps := []tables.Pair{{PairID: "p", QText: "q", PText: before + " " + text + " " + after}}
		ev := &datasets.Dataset{Meta: datasets.Meta{Dataset: "e"}, Candidates: []tables.Candidate{{CID: "c", Text: text}}}
		rep, err := Check(context.Background(), ps, []*datasets.Dataset{ev}, Options{MinChars: 3})
		if err != nil {
			t.Fatal(err)
		}
		long := utf8.RuneCountInString(n) >= 3
		if long && rep.Overlaps != 1 && strings.Contains(Normalize(ps[0].PText), n) {
			t.Fatalf("text %q not found in %q", n, Normalize(ps[0].PText))
		}
	})
}
