package datasets

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/lair-ir/lair/tables"
)

// File names inside a dataset artifact.
const (
	QueriesFile    = "queries.parquet"
	CandidatesFile = "candidates.parquet"
	QrelsFile      = "qrels.parquet"
	MetaFile       = "meta.json"
	PairsFile      = "pairs.parquet"
	StatsFile      = "stats.parquet"
)

// SourceFile records one raw file an artifact was made from.
type SourceFile struct {
	File   string `json:"file"` // <dataset>/<file>, as in a mirror
	URL    string `json:"url"`  // official URL
	SHA256 string `json:"sha256"`
}

// Meta is meta.json of a dataset or pairs artifact.
type Meta struct {
	Dataset   string           `json:"dataset"`
	Languages []string         `json:"languages"`
	License   string           `json:"license"`
	Counts    map[string]int64 `json:"counts"`
	Sources   []SourceFile     `json:"sources,omitempty"`
	Notes     []string         `json:"notes,omitempty"`
}

// TableMeta is the Parquet key/value metadata every table of the artifact carries.
func (m Meta) TableMeta() map[string]string {
	return map[string]string{"dataset": m.Dataset, "license": m.License}
}

// WriteMeta writes meta.json into dir.
func WriteMeta(dir string, m Meta) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, MetaFile), append(b, '\n'), 0o644)
}

// ReadMeta reads meta.json from an artifact directory.
func ReadMeta(dir string) (Meta, error) {
	var m Meta
	b, err := os.ReadFile(filepath.Join(dir, MetaFile))
	if err != nil {
		return m, fmt.Errorf("artifact %s: %w", dir, err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("%s: %w", filepath.Join(dir, MetaFile), err)
	}
	return m, nil
}

// Dataset is a normalized retrieval dataset held in memory. It is the one
// in-memory form of a dataset artifact: the datasets stages write it and
// eval, pairs and leakage read it.
type Dataset struct {
	Meta       Meta
	Queries    []tables.Query
	Candidates []tables.Candidate
	Qrels      []tables.Qrel
	// Dir is the artifact directory Read read it from ("" when built in
	// memory); Check names the files in it.
	Dir string
}

// Name is the dataset's name: the dataset column of its first query, else
// meta.json's dataset, else the base name of Dir.
func (d *Dataset) Name() string {
	switch {
	case len(d.Queries) > 0 && d.Queries[0].Dataset != "":
		return d.Queries[0].Dataset
	case d.Meta.Dataset != "":
		return d.Meta.Dataset
	case d.Dir != "":
		return filepath.Base(d.Dir)
	}
	return ""
}

// Write writes the dataset artifact files into dir; meta counts are filled in.
func (d *Dataset) Write(dir string) error {
	if d.Meta.Counts == nil {
		d.Meta.Counts = map[string]int64{}
	}
	d.Meta.Counts["queries"] = int64(len(d.Queries))
	d.Meta.Counts["candidates"] = int64(len(d.Candidates))
	d.Meta.Counts["qrels"] = int64(len(d.Qrels))
	kv := d.Meta.TableMeta()
	if err := WriteQueries(dir, d.Queries, kv); err != nil {
		return err
	}
	if err := WriteCandidates(dir, d.Candidates, kv); err != nil {
		return err
	}
	if err := WriteQrels(dir, d.Qrels, kv); err != nil {
		return err
	}
	return WriteMeta(dir, d.Meta)
}

// Read reads the dataset artifact in dir: the three tables and meta.json.
// A missing meta.json (tables written by hand, as in tests) leaves Meta
// empty; a malformed one is an error. Read does not validate the rows
// (see Check and ReadChecked): a topics-only dataset has no candidates.
func Read(dir string) (*Dataset, error) {
	d := &Dataset{Dir: dir}
	if _, err := os.Stat(filepath.Join(dir, MetaFile)); err == nil {
		if d.Meta, err = ReadMeta(dir); err != nil {
			return nil, err
		}
	}
	var err error
	if d.Queries, err = ReadQueries(dir); err != nil {
		return nil, err
	}
	if d.Candidates, err = ReadCandidates(dir); err != nil {
		return nil, err
	}
	if d.Qrels, err = ReadQrels(dir); err != nil {
		return nil, err
	}
	return d, nil
}

// ReadChecked reads the dataset artifact in dir and checks it (Check), as
// retrieval and evaluation need.
func ReadChecked(dir string) (*Dataset, error) {
	d, err := Read(dir)
	if err != nil {
		return nil, err
	}
	if err := d.Check(); err != nil {
		return nil, err
	}
	return d, nil
}

// Check validates the tables for retrieval: at least one query and one
// candidate, non-empty ids and languages, unique ids, qrels naming known
// queries and candidates. Errors name the file and the first bad row.
func (d *Dataset) Check() error {
	qf := filepath.Join(d.Dir, QueriesFile)
	cf := filepath.Join(d.Dir, CandidatesFile)
	rf := filepath.Join(d.Dir, QrelsFile)
	if len(d.Queries) == 0 {
		return fmt.Errorf("%s: no queries", qf)
	}
	if len(d.Candidates) == 0 {
		return fmt.Errorf("%s: no candidates", cf)
	}
	qids := make(map[string]int, len(d.Queries))
	for i, q := range d.Queries {
		switch {
		case q.QID == "":
			return fmt.Errorf("%s row %d: empty qid", qf, i)
		case q.Lang == "":
			return fmt.Errorf("%s row %d (qid %q): empty lang; every query needs an ISO 639-1 language", qf, i, q.QID)
		}
		if j, dup := qids[q.QID]; dup {
			return fmt.Errorf("%s row %d: qid %q already used by row %d", qf, i, q.QID, j)
		}
		qids[q.QID] = i
	}
	cids := make(map[string]int, len(d.Candidates))
	for i, c := range d.Candidates {
		switch {
		case c.CID == "":
			return fmt.Errorf("%s row %d: empty cid", cf, i)
		case c.Lang == "":
			return fmt.Errorf("%s row %d (cid %q): empty lang; every candidate needs an ISO 639-1 language", cf, i, c.CID)
		}
		if j, dup := cids[c.CID]; dup {
			return fmt.Errorf("%s row %d: cid %q already used by row %d", cf, i, c.CID, j)
		}
		cids[c.CID] = i
	}
	for i, r := range d.Qrels {
		if _, ok := qids[r.QID]; !ok {
			return fmt.Errorf("%s row %d: qid %q is not in %s", rf, i, r.QID, QueriesFile)
		}
		if _, ok := cids[r.CID]; !ok {
			return fmt.Errorf("%s row %d: cid %q is not in %s", rf, i, r.CID, CandidatesFile)
		}
	}
	return nil
}
