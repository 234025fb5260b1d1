package pairs

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"

	"github.com/lair-ir/lair/datasets"
	"github.com/lair-ir/lair/tables"
)

// Positive values: what a pair's p_text holds.
const (
	PositiveSentence            = "sentence"
	PositiveSentenceWithContext = "sentence-with-context"
)

// Split names.
const (
	SplitTrain      = "train"
	SplitValidation = "validation"
)

// Options control FromDataset.
type Options struct {
	Languages []string // empty: every language of the dataset
	// Positive is PositiveSentence (default) or PositiveSentenceWithContext
	// (the answer sentence, a blank line, then its paragraph).
	Positive string
	// ValidationFraction of the question groups go to the validation split,
	// whole split units at a time (see FromDataset). 0: everything is train.
	ValidationFraction float64
	Seed               uint64
}

// Stats counts what FromDataset made.
type Stats struct {
	Groups, Units, Mono, Cross, Train, Validation, ValidationGroups int64
}

// FromDataset makes training pairs from a parallel QA dataset (queries
// linked across languages by group_id, qrels pointing at each language's
// answer sentence).
//
// For every group and every ordered pair of languages (X, Y) such that the
// group has a question in X and an answer in Y it emits one pair: the
// question in X with the answer in Y; Kind is "mono" when X = Y, else
// "cross". pair_id is "<source>/<group>/<X>-<Y>".
//
// The split is made over units: groups joined when their answers share a
// paragraph (doc_id) in any language, so validation questions never ask
// about a paragraph seen in training. Units are shuffled with the seed and
// moved to validation until the validation share of groups reaches
// ValidationFraction (a unit that would leave no training group is skipped).
// All pairs of a group share its split.
func FromDataset(d *datasets.Dataset, opt Options) ([]tables.Pair, Stats, error) {
	var st Stats
	switch opt.Positive {
	case "":
		opt.Positive = PositiveSentence
	case PositiveSentence, PositiveSentenceWithContext:
	default:
		return nil, st, fmt.Errorf("positive %q: expected %q or %q", opt.Positive, PositiveSentence, PositiveSentenceWithContext)
	}
	if opt.ValidationFraction < 0 || opt.ValidationFraction >= 1 {
		return nil, st, fmt.Errorf("validation_fraction %v: expected 0 <= fraction < 1", opt.ValidationFraction)
	}
	keep := func(lang string) bool { return len(opt.Languages) == 0 || slices.Contains(opt.Languages, lang) }
	for _, l := range opt.Languages {
		if !slices.Contains(d.Meta.Languages, l) {
			return nil, st, fmt.Errorf("dataset %s has no language %q; it has %v", d.Meta.Dataset, l, d.Meta.Languages)
		}
	}
	cands := make(map[string]*tables.Candidate, len(d.Candidates))
	for i := range d.Candidates {
		cands[d.Candidates[i].CID] = &d.Candidates[i]
	}
	type group struct {
		id      string
		queries map[string]*tables.Query     // lang -> question
		answers map[string]*tables.Candidate // lang -> answer sentence
	}
	var groups []*group
	byID := map[string]*group{}
	groupOfQID := map[string]*group{}
	for i := range d.Queries {
		q := &d.Queries[i]
		g := byID[q.GroupID]
		if g == nil {
			g = &group{id: q.GroupID, queries: map[string]*tables.Query{}, answers: map[string]*tables.Candidate{}}
			byID[q.GroupID] = g
			groups = append(groups, g)
		}
		groupOfQID[q.QID] = g
		if !keep(q.Lang) {
			continue
		}
		if prev, dup := g.queries[q.Lang]; dup {
			return nil, st, fmt.Errorf("group %s has two questions in %s (%s, %s): pairs/parallel-qa expects one question per language per group", g.id, q.Lang, prev.QID, q.QID)
		}
		g.queries[q.Lang] = q
	}
	for _, r := range d.Qrels {
		if r.Relevance <= 0 {
			continue
		}
		g := groupOfQID[r.QID]
		if g == nil {
			return nil, st, fmt.Errorf("qrels: qid %s is not in queries.parquet", r.QID)
		}
		c := cands[r.CID]
		if c == nil {
			return nil, st, fmt.Errorf("qrels: cid %s (for %s) is not in candidates.parquet", r.CID, r.QID)
		}
		if !keep(c.Lang) {
			continue
		}
		if prev, ok := g.answers[c.Lang]; ok && prev.CID != c.CID {
			return nil, st, fmt.Errorf("group %s has two answers in %s (%s, %s): pairs/parallel-qa expects one answer sentence per language per group", g.id, c.Lang, prev.CID, c.CID)
		}
		g.answers[c.Lang] = c
	}

	// Split units: union-find over groups sharing a paragraph.
	parent := make([]int, len(groups))
	for i := range parent {
		parent[i] = i
	}
	var find func(int) int
	find = func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	docOwner := map[string]int{}
	for gi, g := range groups {
		for _, c := range g.answers {
			if c.DocID == "" {
				continue
			}
			if o, ok := docOwner[c.DocID]; ok {
				a, b := find(o), find(gi)
				if a != b {
					parent[max(a, b)] = min(a, b)
				}
			} else {
				docOwner[c.DocID] = gi
			}
		}
	}
	units := map[int][]int{}
	var roots []int
	for gi := range groups {
		r := find(gi)
		if _, ok := units[r]; !ok {
			roots = append(roots, r)
		}
		units[r] = append(units[r], gi)
	}
	st.Groups, st.Units = int64(len(groups)), int64(len(roots))
	validation := make([]bool, len(groups))
	if opt.ValidationFraction > 0 {
		rng := rand.New(rand.NewPCG(opt.Seed, 0x6c616972))
		order := slices.Clone(roots)
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		target := int64(opt.ValidationFraction*float64(len(groups)) + 0.5)
		for _, r := range order {
			if st.ValidationGroups >= target {
				break
			}
			if st.ValidationGroups+int64(len(units[r])) >= int64(len(groups)) {
				continue // never leave the training split empty
			}
			for _, gi := range units[r] {
				validation[gi] = true
				st.ValidationGroups++
			}
		}
	}

	var out []tables.Pair
	source := d.Meta.Dataset
	for gi, g := range groups {
		split := SplitTrain
		if validation[gi] {
			split = SplitValidation
		}
		for _, x := range sortedKeys(g.queries) {
			q := g.queries[x]
			for _, y := range sortedKeys(g.answers) {
				a := g.answers[y]
				kind := "cross"
				if x == y {
					kind = "mono"
					st.Mono++
				} else {
					st.Cross++
				}
				p := a.Text
				if opt.Positive == PositiveSentenceWithContext && a.Context != "" {
					p = a.Text + "\n\n" + a.Context
				}
				if split == SplitTrain {
					st.Train++
				} else {
					st.Validation++
				}
				out = append(out, tables.Pair{
					PairID: source + "/" + g.id + "/" + x + "-" + y, GroupID: g.id, Source: source, Kind: kind,
					QLang: x, QText: q.Text, PLang: y, PText: p, Split: split,
				})
			}
		}
	}
	return out, st, nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.SortFunc(out, cmp.Compare)
	return out
}

// Read reads the pairs of the pairs artifact in dir (as Write wrote them;
// rows are not validated again: use ReadFile for a user's file).
func Read(dir string) ([]tables.Pair, error) {
	return tables.Read[tables.Pair](filepath.Join(dir, datasets.PairsFile))
}

// Path is the pairs table of the pairs artifact in dir, for messages.
func Path(dir string) string { return filepath.Join(dir, datasets.PairsFile) }

// Write writes a pairs artifact (pairs.parquet, meta.json) into dir. The
// meta's counts are filled from the pairs.
func Write(dir string, pairs []tables.Pair, meta datasets.Meta) error {
	if meta.Counts == nil {
		meta.Counts = map[string]int64{}
	}
	langs := map[string]bool{}
	meta.Counts["pairs"] = int64(len(pairs))
	for _, k := range []string{"mono", "cross", "train", "validation"} {
		meta.Counts[k] = 0
	}
	for _, p := range pairs {
		meta.Counts[p.Kind]++
		meta.Counts[p.Split]++
		langs[p.QLang], langs[p.PLang] = true, true
	}
	if len(meta.Languages) == 0 {
		meta.Languages = sortedKeys(langs)
	}
	if err := tables.Write(filepath.Join(dir, datasets.PairsFile), pairs, meta.TableMeta()); err != nil {
		return err
	}
	return datasets.WriteMeta(dir, meta)
}
