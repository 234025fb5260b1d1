package model

import (
	"os"
	"path/filepath"

	"github.com/lair-ir/lair/tables"
)

// Side files of a model folder artifact, besides the Hugging Face layout
// (tokenizer.json, config.json, model.onnx): stages write and read them
// through the functions below and never name them.
const (
	SourceFile          = "source.json"          // where model/load took the model from
	TrainingLogFile     = "training_log.parquet" // one row per training step (train/contrastive)
	TrainingSummaryFile = "training.json"        // how training ended (train/contrastive)
)

// WriteSource writes source.json into the model folder dir: the model's
// source (an hf:// reference, or "local folder": nothing machine-specific)
// and its content hash.
func WriteSource(dir, source, hash string) error {
	return tables.WriteJSON(filepath.Join(dir, SourceFile), map[string]any{"source": source, "model_hash": hash})
}

// WriteTrainingLog writes the training log rows (a Parquet table, one row
// per step) into the model folder dir.
func WriteTrainingLog[T any](dir string, rows []T) error {
	return tables.Write(filepath.Join(dir, TrainingLogFile), rows, nil)
}

// TrainingLogPath returns the training log of the model folder dir and
// whether it has one (models that were not trained by lair have none).
func TrainingLogPath(dir string) (string, bool) {
	p := filepath.Join(dir, TrainingLogFile)
	_, err := os.Stat(p)
	return p, err == nil
}

// WriteTrainingSummary writes v as training.json into the model folder dir.
func WriteTrainingSummary(dir string, v any) error {
	return tables.WriteJSON(filepath.Join(dir, TrainingSummaryFile), v)
}
