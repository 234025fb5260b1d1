package eval

import (
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/lair-ir/lair/tables"
)

// TestDegenerateVectors: zero and non-finite embeddings are reported with
// their ids and ranked deterministically: a degenerate candidate below
// every real one (ties among them by id), a degenerate query's pool by id
// alone, every score involving them Lowest. The rest is unchanged.
func TestDegenerateVectors(t *testing.T) {
	p, ds, _ := loadSynthetic(t, []string{"en", "de"}, 12, 6)
	e := ds.Embed(8, 1.0, 0.5, 4)
	row := map[string]int{}
	for i, id := range e.IDs {
		row[e.Roles[i]+"/"+id] = i
	}
	badQID := p.DS.Queries[2].QID
	clear(e.Vector(row["passage/c004-de"]))
	e.Vector(row["passage/c003-en"])[1] = float32(math.Inf(1))
	clear(e.Vector(row["query/"+badQID]))

	sc, err := DenseScorer(p, e, "emb.arrow", true)
	if err != nil {
		t.Fatalf("degenerate vectors stopped the run: %v", err)
	}
	want := []BadVector{
		{Role: tables.RoleQuery, ID: badQID, Row: row["query/"+badQID], Reason: ReasonZero},
		{Role: tables.RolePassage, ID: "c003-en", Row: row["passage/c003-en"], Reason: ReasonNonFinite},
		{Role: tables.RolePassage, ID: "c004-de", Row: row["passage/c004-de"], Reason: ReasonZero},
	}
	slices.SortFunc(sc.Bad, func(a, b BadVector) int { return strings.Compare(a.Role+a.ID, b.Role+b.ID) })
	slices.SortFunc(want, func(a, b BadVector) int { return strings.Compare(a.Role+a.ID, b.Role+b.ID) })
	if !reflect.DeepEqual(sc.Bad, want) {
		t.Fatalf("Bad = %v\nwant %v", sc.Bad, want)
	}
	if q, c := CountBad(sc.Bad); q != 1 || c != 2 {
		t.Errorf("CountBad = %d, %d", q, c)
	}
	if s := SummarizeBad(sc.Bad, 1); !strings.Contains(s, "1 query and 2 passage embeddings") || !strings.Contains(s, "and 2 more") {
		t.Errorf("summary %q", s)
	}

	opt := RetrieveOptions{RunID: "r", K: 1000, CrossK: 1000, Threads: 2}
	rows := collect(t, p, e, opt)
	if again := collect(t, p, e, opt); !reflect.DeepEqual(rows, again) {
		t.Fatal("two runs ranked differently")
	}
	badCand := map[string]bool{"c003-en": true, "c004-de": true}
	checked := 0
	for _, r := range rows {
		if r.QID == badQID {
			// every candidate ties at Lowest: the pool in id order
			if !slices.IsSorted(r.TopCIDs) || len(r.TopCIDs) != int(r.PoolSize) {
				t.Errorf("%s %s: degenerate query's ranking %v is not the pool in id order", r.Setting, r.CLang, r.TopCIDs)
			}
			for _, s := range r.TopScores {
				if s != Lowest {
					t.Fatalf("degenerate query scored %v", s)
				}
			}
			continue
		}
		// degenerate candidates come last, in id order, with score Lowest
		var tail []string
		for i, c := range r.TopCIDs {
			if badCand[c] {
				tail = append(tail, c)
				if r.TopScores[i] != Lowest {
					t.Errorf("%s: candidate %s scored %v", r.QID, c, r.TopScores[i])
				}
			} else if len(tail) > 0 {
				t.Fatalf("%s %s %s: %s ranked after degenerate %v", r.Setting, r.QID, r.CLang, c, tail)
			}
		}
		if !slices.IsSorted(tail) {
			t.Errorf("%s: degenerate candidates %v not in id order", r.QID, tail)
		}
		for i, c := range r.RelCIDs {
			if badCand[c] {
				checked++
				if int(r.RelRanks[i]) <= int(r.PoolSize)-len(tail) {
					t.Errorf("%s %s: relevant degenerate %s ranked %d of %d", r.Setting, r.QID, c, r.RelRanks[i], r.PoolSize)
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no row had a degenerate relevant candidate: the test checks nothing")
	}
}
