package tables

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// The embeddings artifact: tables owns its files (embeddings.arrow,
// embeddings.parquet, encode_stats.json, meta.json) and stages go through
// the functions below, given the artifact directory.

// Side files of an embeddings artifact.
const (
	EncodeStatsFile    = "encode_stats.json" // what encode did (texts, cache hits, degenerate vectors)
	EmbeddingsMetaFile = "meta.json"         // what made the vectors when not encode (e.g. embed/debias)
)

// ReadEmbeddingsArtifact reads the embeddings artifact in dir:
// embeddings.arrow, or embeddings.parquet where the artifact holds only
// that. It returns the file it read, for messages.
func ReadEmbeddingsArtifact(dir string) (*Embeddings, string, error) {
	path := filepath.Join(dir, EmbeddingsArrow)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		if _, perr := os.Stat(filepath.Join(dir, EmbeddingsParquet)); perr == nil {
			path = filepath.Join(dir, EmbeddingsParquet)
		}
	}
	e, err := ReadEmbeddings(path)
	return e, path, err
}

// CreateEmbeddingsArtifact creates the embeddings.arrow of the artifact in
// dir for streaming rows (EmbeddingsWriter; no Parquet copy is written).
func CreateEmbeddingsArtifact(dir string, dim int, modelKey string) (*EmbeddingsWriter, error) {
	return CreateEmbeddings(filepath.Join(dir, EmbeddingsArrow), dim, modelKey)
}

// CreateLicensedEmbeddingsArtifact is CreateEmbeddingsArtifact with the
// license of the encoded texts recorded in the file metadata.
func CreateLicensedEmbeddingsArtifact(dir string, dim int, modelKey, license string) (*EmbeddingsWriter, error) {
	return CreateLicensedEmbeddings(filepath.Join(dir, EmbeddingsArrow), dim, modelKey, license)
}

// MapEmbeddingsArtifact maps the embeddings.arrow of the artifact in dir.
func MapEmbeddingsArtifact(dir string) (*MappedEmbeddings, error) {
	return MapEmbeddings(filepath.Join(dir, EmbeddingsArrow))
}

// WriteEncodeStats writes v as the encode_stats.json of the embeddings
// artifact in dir.
func WriteEncodeStats(dir string, v any) error {
	return WriteJSON(filepath.Join(dir, EncodeStatsFile), v)
}

// WriteEmbeddingsMeta writes v as the meta.json of the embeddings
// artifact in dir.
func WriteEmbeddingsMeta(dir string, v any) error {
	return WriteJSON(filepath.Join(dir, EmbeddingsMetaFile), v)
}

// WriteJSON writes v to path as indented JSON and a final newline, the
// form of every JSON side file of an artifact.
func WriteJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// ReadJSON reads the JSON file at path into v; errors name the file.
func ReadJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
