package eval

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/lair-ir/lair/eval/search"
	"github.com/lair-ir/lair/tables"
)

// Lowest is the score of every pair whose query or candidate embedding is
// degenerate: the lowest finite float32, below any dot product of real
// vectors. (Finite, so TREC run files and JSON stay plain numbers.)
const Lowest float32 = -math.MaxFloat32

// Why an embedding is degenerate (BadVector.Reason).
const (
	ReasonZero      = "zero"       // all components 0: no direction to compare
	ReasonNonFinite = "non-finite" // a NaN or infinite component
)

// BadVector is an embedding retrieval could not use as a vector.
type BadVector struct {
	Role   string // query or passage
	ID     string // qid or cid
	Row    int    // row in the embeddings file
	Reason string // ReasonZero or ReasonNonFinite
}

func (b BadVector) String() string {
	return fmt.Sprintf("%s %s (row %d): %s vector", b.Role, b.ID, b.Row, b.Reason)
}

// CountBad returns the number of degenerate query and passage embeddings.
func CountBad(bad []BadVector) (queries, passages int) {
	for _, b := range bad {
		if b.Role == tables.RoleQuery {
			queries++
		} else {
			passages++
		}
	}
	return
}

// SummarizeBad is a one-line summary naming the first few ids, for logs
// and errors.
func SummarizeBad(bad []BadVector, max int) string {
	q, c := CountBad(bad)
	var ids []string
	for i, b := range bad {
		if i == max {
			ids = append(ids, fmt.Sprintf("and %d more", len(bad)-max))
			break
		}
		ids = append(ids, b.String())
	}
	return fmt.Sprintf("%d query and %d passage embeddings are zero or non-finite and score lowest: %s", q, c, strings.Join(ids, "; "))
}

// guarded scores pairs with a degenerate query or candidate Lowest and
// leaves every other score to the wrapped scorer, bit for bit.
type guarded struct {
	search.Scorer
	badQ []bool
	badC []int // sorted candidate indices
}

func newGuarded(sc search.Scorer, badQ, badC []int) *guarded {
	g := &guarded{Scorer: sc, badQ: make([]bool, sc.NumQueries()), badC: slices.Clone(badC)}
	for _, q := range badQ {
		g.badQ[q] = true
	}
	slices.Sort(g.badC)
	return g
}

func (g *guarded) NewWorker() search.Worker { return &guardedWorker{g: g, w: g.Scorer.NewWorker()} }

type guardedWorker struct {
	g *guarded
	w search.Worker
}

func (w *guardedWorker) Prepare(qs []int, want []bool) error { return w.w.Prepare(qs, want) }

func (w *guardedWorker) Tile(qs []int, c0, c1 int, tile []float32) {
	w.w.Tile(qs, c0, c1, tile)
	n := c1 - c0
	lo, _ := slices.BinarySearch(w.g.badC, c0)
	hi, _ := slices.BinarySearch(w.g.badC, c1)
	for i, q := range qs {
		row := tile[i*n : (i+1)*n]
		if w.g.badQ[q] {
			for j := range row {
				row[j] = Lowest
			}
			continue
		}
		for _, c := range w.g.badC[lo:hi] {
			row[c-c0] = Lowest
		}
	}
}

func (w *guardedWorker) Pair(q, c int) float32 {
	if w.g.badQ[q] {
		return Lowest
	}
	if _, bad := slices.BinarySearch(w.g.badC, c); bad {
		return Lowest
	}
	return w.w.Pair(q, c)
}
