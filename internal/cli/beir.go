package cli

import (
	"context"
	"fmt"

	"github.com/lair-ir/lair/datasets"
	"github.com/lair-ir/lair/datasets/beir"
)

const exportBEIRSynopsis = `lair export beir TABLES DIR [--split NAME]

Writes the dataset artifact TABLES (a folder with queries.parquet,
candidates.parquet, qrels.parquet and meta.json, e.g. a dataset stage's
output shown by 'lair runs ID') as a BEIR folder DIR: corpus.jsonl,
queries.jsonl and qrels/<split>.tsv, languages in a "lang" field.`

func cmdExportBEIR(ctx context.Context, s *sys, args []string) error {
	fs := newFlags("lair export beir", exportBEIRSynopsis, s.stdout)
	split := fs.String("split", "test", "qrels split name: qrels/<split>.tsv")
	pos, err := parseArgs(fs, args, 2, 2)
	if err != nil {
		return err
	}
	ds, err := datasets.Read(pos[0])
	if err != nil {
		return usageError{fmt.Errorf("export beir: %w (TABLES must be a dataset artifact folder)", err)}
	}
	if err := beir.Write(pos[1], ds, *split); err != nil {
		return fmt.Errorf("export beir: %w", err)
	}
	fmt.Fprintf(s.stdout, "%s: %d passages, %d queries, %d qrels (split %s)\n", pos[1], len(ds.Candidates), len(ds.Queries), len(ds.Qrels), *split)
	return nil
}
