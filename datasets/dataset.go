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

// Dataset is a normalized retrieval dataset held in memory.
type Dataset struct {
	Meta       Meta
	Queries    []tables.Query
	Candidates []tables.Candidate
	Qrels      []tables.Qrel
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
	if err := tables.Write(filepath.Join(dir, QueriesFile), d.Queries, kv); err != nil {
		return err
	}
	if err := tables.Write(filepath.Join(dir, CandidatesFile), d.Candidates, kv); err != nil {
		return err
	}
	if err := tables.Write(filepath.Join(dir, QrelsFile), d.Qrels, kv); err != nil {
		return err
	}
	return WriteMeta(dir, d.Meta)
}

// Read reads a dataset artifact directory.
func Read(dir string) (*Dataset, error) {
	m, err := ReadMeta(dir)
	if err != nil {
		return nil, err
	}
	d := &Dataset{Meta: m}
	if d.Queries, err = tables.Read[tables.Query](filepath.Join(dir, QueriesFile)); err != nil {
		return nil, err
	}
	if d.Candidates, err = tables.Read[tables.Candidate](filepath.Join(dir, CandidatesFile)); err != nil {
		return nil, err
	}
	if d.Qrels, err = tables.Read[tables.Qrel](filepath.Join(dir, QrelsFile)); err != nil {
		return nil, err
	}
	return d, nil
}
