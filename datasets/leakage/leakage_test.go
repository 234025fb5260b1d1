package leakage

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lair-ir/lair/datasets"
	"github.com/lair-ir/lair/datasets/lareqa"
	"github.com/lair-ir/lair/datasets/pairs"
	"github.com/lair-ir/lair/internal/testenv"
	"github.com/lair-ir/lair/tables"
)

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"  Straße\u00a0 IST\tgroß \n": "strasse ist gross",
		"Cafe\u0301":                  "café",
		"ΣΊΣΥΦΟΣ":                     "σίσυφοσ",
		"":                            "",
		"a\u3000b":                    "a b",
	} {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

func mk(ds string, qs []string, cs []string) *datasets.Dataset {
	d := &datasets.Dataset{Meta: datasets.Meta{Dataset: ds}}
	for i, q := range qs {
		d.Queries = append(d.Queries, tables.Query{QID: ds + "/q" + string(rune('0'+i)), Text: q})
	}
	for i, c := range cs {
		d.Candidates = append(d.Candidates, tables.Candidate{CID: ds + "/c" + string(rune('0'+i)), Text: c})
	}
	return d
}

func TestCheckSmall(t *testing.T) {
	ps := []tables.Pair{
		{PairID: "p1", QText: "Who WROTE the  first   novel in Spanish?", PText: "Short."},
		{PairID: "p2", QText: "Unrelated question here, long enough?", PText: "Context: Cervantes wrote Don Quixote in 1605. More text."},
	}
	ev := mk("ev", []string{"who wrote the first novel in spanish?", "A question never seen in training"},
		[]string{"Cervantes wrote Don Quixote in 1605.", "short.", "tiny", "Another candidate sentence, unseen."})
	rep, err := Check(context.Background(), ps, []*datasets.Dataset{ev}, Options{MinChars: 20})
	if err != nil {
		t.Fatal(err)
	}
	f := rep.Datasets[0]
	if rep.Pass || rep.Overlaps != 2 || f.QueryOverlaps != 1 || f.CandidateOverlaps != 1 || f.ShortExact != 1 || f.ShortSkipped != 1 {
		t.Fatalf("report %+v", rep)
	}
	if rep.Examples[0].ID != "ev/q0" || rep.Examples[0].PairID != "p1" || rep.Examples[0].Field != "q_text" ||
		rep.Examples[1].ID != "ev/c0" || rep.Examples[1].PairID != "p2" || rep.Examples[1].Field != "p_text" {
		t.Errorf("examples %+v", rep.Examples)
	}
	if s := rep.Summary(); !strings.Contains(s, "ev: 1 of 2 queries, 1 of 4 candidates") {
		t.Errorf("summary %q", s)
	}
	rep, _ = Check(context.Background(), ps, []*datasets.Dataset{ev}, Options{MinChars: 20, MaxOverlapFraction: 0.34})
	if !rep.Pass || rep.Datasets[0].Allowed != 2 {
		t.Errorf("max_overlap_fraction 0.34 of 6 rows should allow 2: %+v", rep.Datasets[0])
	}
	if _, err := Check(context.Background(), ps, nil, Options{}); err == nil {
		t.Error("min_chars 0 accepted")
	}
}

func load(t testing.TB, spec lareqa.Spec) *datasets.Dataset {
	t.Helper()
	r, err := lareqa.LoadDir(context.Background(), spec, filepath.Join(testenv.RawDir(t), spec.Name), spec.Languages)
	if err != nil {
		t.Fatal(err)
	}
	return &r.Dataset
}

// TestRealData: train on one LAReQA set, evaluate on the other: pass; the same set: fail.
func TestRealData(t *testing.T) {
	xq, ml := load(t, lareqa.XQuADR), load(t, lareqa.MLQAR)
	for _, tc := range []struct {
		name     string
		train    *datasets.Dataset
		eval     *datasets.Dataset
		positive string
		pass     bool
	}{
		{"xquad->mlqa", xq, ml, pairs.PositiveSentenceWithContext, true},
		{"mlqa->xquad", ml, xq, pairs.PositiveSentence, true},
		{"xquad->xquad", xq, xq, pairs.PositiveSentence, false},
		{"mlqa->mlqa", ml, ml, pairs.PositiveSentenceWithContext, false},
	} {
		ps, _, err := pairs.FromDataset(tc.train, pairs.Options{Positive: tc.positive})
		if err != nil {
			t.Fatal(err)
		}
		rep, err := Check(context.Background(), ps, []*datasets.Dataset{tc.eval}, Options{MinChars: DefaultMinChars, MaxOverlapFraction: DefaultMaxOverlapFraction})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %s", tc.name, rep.Summary())
		if tc.pass && rep.Overlaps > 1 {
			t.Errorf("%s: %d coincidental overlaps, expected at most the Hindi citation marker", tc.name, rep.Overlaps)
		}
		if rep.Pass != tc.pass {
			t.Errorf("%s: pass = %v, want %v: %s", tc.name, rep.Pass, tc.pass, rep.Summary())
		}
		if !tc.pass && rep.Datasets[0].QueryOverlaps < rep.Datasets[0].Queries*95/100 {
			t.Errorf("%s: %d of %d queries found", tc.name, rep.Datasets[0].QueryOverlaps, rep.Datasets[0].Queries)
		}
	}
}
