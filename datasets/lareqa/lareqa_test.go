package lareqa

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lair-ir/lair/internal/testenv"
)

func TestRealCounts(t *testing.T) {
	raw := testenv.RawDir(t)
	for _, tc := range []struct {
		spec                     Spec
		queries, cands, qrels    int
		minPerQuery, maxPerQuery int
		crossing                 int64
	}{
		{XQuADR, 13090, 13014, 143990, 11, 11, 112},
		{MLQAR, 4199, 20534, 15747, 2, 4, 25},
	} {
		r, err := LoadDir(context.Background(), tc.spec, filepath.Join(raw, tc.spec.Name), tc.spec.Languages)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Queries) != tc.queries || len(r.Candidates) != tc.cands || len(r.Qrels) != tc.qrels {
			t.Errorf("%s: %d queries %d candidates %d qrels, want %d %d %d", tc.spec.Name,
				len(r.Queries), len(r.Candidates), len(r.Qrels), tc.queries, tc.cands, tc.qrels)
		}
		per := map[string]int{}
		for _, q := range r.Qrels {
			per[q.QID]++
		}
		for _, q := range r.Queries {
			if n := per[q.QID]; n < tc.minPerQuery || n > tc.maxPerQuery {
				t.Errorf("%s: %s has %d relevant, want %d..%d", tc.spec.Name, q.QID, n, tc.minPerQuery, tc.maxPerQuery)
				break
			}
		}
		if got := r.Meta.Counts["answers_crossing_break"]; got != tc.crossing {
			t.Errorf("%s: %d answers cross a break, want %d", tc.spec.Name, got, tc.crossing)
		}
	}
}

// TestLanguageSubset: qrels link only the selected languages.
func TestLanguageSubset(t *testing.T) {
	raw := testenv.RawDir(t)
	langs, err := Languages(XQuADR, []string{"en", "de"})
	if err != nil {
		t.Fatal(err)
	}
	r, err := LoadDir(context.Background(), XQuADR, filepath.Join(raw, "xquad-r"), langs)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Queries) != 2380 || len(r.Candidates) != 1276+1180 || len(r.Qrels) != 2380*2 || len(r.Stats) != 2 {
		t.Errorf("%d queries %d candidates %d qrels", len(r.Queries), len(r.Candidates), len(r.Qrels))
	}
	for _, q := range r.Qrels {
		if !strings.HasPrefix(q.CID, "xquad-r/de/") && !strings.HasPrefix(q.CID, "xquad-r/en/") {
			t.Fatalf("qrel to %s", q.CID)
		}
	}
	if r.Meta.Languages[0] != "de" || r.Meta.License != "CC BY-SA 4.0" {
		t.Errorf("meta %+v", r.Meta)
	}
}
