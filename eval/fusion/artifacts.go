package fusion

import (
	"errors"
	"slices"

	"github.com/lair-ir/lair/eval"
)

// Loaded is what ReadInputs read: one Input per rankings artifact, in
// order, holding only the datasets every input ranks.
type Loaded struct {
	Inputs   []Input
	RunIDs   []string // each input's run id (of its first row), in order
	Datasets []string // the datasets every input ranks, sorted
}

// ReadInputs reads the rankings artifacts in dirs (in the order of the
// stage's needs) for Fuse and keeps only the datasets all of them rank.
func ReadInputs(dirs []string) (*Loaded, error) {
	l := &Loaded{Inputs: make([]Input, len(dirs))}
	sets := make([]map[string]bool, len(dirs))
	for i, d := range dirs {
		l.Inputs[i].Path = eval.RankingsPath(d)
		sets[i] = map[string]bool{}
		err := eval.ReadRankingsArtifact(d, func(batch []eval.Ranking) error {
			l.Inputs[i].Rows = append(l.Inputs[i].Rows, batch...)
			for _, r := range batch {
				sets[i][r.Dataset] = true
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if len(l.Inputs[i].Rows) > 0 {
			l.RunIDs = append(l.RunIDs, l.Inputs[i].Rows[0].RunID)
		}
	}
	if len(dirs) == 0 {
		return nil, errors.New("no rankings inputs")
	}
	for d := range sets[0] {
		all := true
		for _, s := range sets[1:] {
			all = all && s[d]
		}
		if all {
			l.Datasets = append(l.Datasets, d)
		}
	}
	slices.Sort(l.Datasets)
	if len(l.Datasets) == 0 {
		return nil, errors.New("the inputs rank no dataset in common: fuse rankings of the same dataset")
	}
	for i := range l.Inputs {
		l.Inputs[i].Rows = slices.DeleteFunc(l.Inputs[i].Rows, func(r eval.Ranking) bool { return !slices.Contains(l.Datasets, r.Dataset) })
	}
	return l, nil
}

// Scan reads the rankings artifacts in dirs for their run ids and the
// datasets all of them rank, keeping no rows: ReadSetting then loads one
// setting at a time.
func Scan(dirs []string) (*Loaded, error) {
	if len(dirs) == 0 {
		return nil, errors.New("no rankings inputs")
	}
	l := &Loaded{Inputs: make([]Input, len(dirs))}
	sets := make([]map[string]bool, len(dirs))
	for i, d := range dirs {
		l.Inputs[i].Path = eval.RankingsPath(d)
		sets[i] = map[string]bool{}
		first := true
		err := eval.ReadRankingsArtifact(d, func(batch []eval.Ranking) error {
			for _, r := range batch {
				if first {
					l.RunIDs, first = append(l.RunIDs, r.RunID), false
				}
				sets[i][r.Dataset] = true
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	for d := range sets[0] {
		all := true
		for _, s := range sets[1:] {
			all = all && s[d]
		}
		if all {
			l.Datasets = append(l.Datasets, d)
		}
	}
	slices.Sort(l.Datasets)
	if len(l.Datasets) == 0 {
		return nil, errors.New("the inputs rank no dataset in common: fuse rankings of the same dataset")
	}
	return l, nil
}

// ReadSetting replaces the rows of l's inputs with the rows of one
// setting (mono, cross or multi) of the datasets all inputs rank, read
// again from the artifacts in dirs (the ones Scan read), so that memory
// holds one setting's rankings at a time.
func (l *Loaded) ReadSetting(dirs []string, setting string) error {
	for i, d := range dirs {
		rows := l.Inputs[i].Rows[:0]
		err := eval.ReadRankingsArtifact(d, func(batch []eval.Ranking) error {
			for j := range batch {
				if batch[j].Setting == setting && slices.Contains(l.Datasets, batch[j].Dataset) {
					rows = append(rows, batch[j])
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		clear(rows[len(rows):cap(rows)]) // drop the previous setting's rows
		l.Inputs[i].Rows = rows
	}
	return nil
}
