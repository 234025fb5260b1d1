package miracl

import (
	"context"
	"fmt"
	"slices"

	"github.com/lair-ir/lair/datasets"
	"github.com/lair-ir/lair/tables"
)

// ShardOptions select one shard of one language's corpus.
type ShardOptions struct {
	Lang  string
	Files []string // the language's corpus files (CorpusFiles)
	// Keep reports whether a passage belongs to the shard; it must depend
	// on the docid alone, so that every shard reads the files on its own.
	Keep     func(docid string) bool
	Note     string    // added to meta.json's notes
	Progress func(int) // called with 1 per corpus passage read (may be nil)
}

// WriteShard writes a dataset artifact into outDir: the language's queries
// and their qrels from the dataset artifact topicsDir (dataset/miracl,
// topics_only is enough) and the corpus passages opt.Keep accepts, streamed
// into candidates.parquet (bounded memory). It returns the artifact's meta.
func WriteShard(ctx context.Context, topicsDir, outDir string, opt ShardOptions) (datasets.Meta, error) {
	meta := datasets.Meta{Dataset: Name, Languages: []string{opt.Lang}, License: License, Counts: map[string]int64{}}
	if opt.Note != "" {
		meta.Notes = []string{opt.Note}
	}
	if len(opt.Files) == 0 {
		return meta, fmt.Errorf("miracl: no corpus files for %s (see CorpusFiles)", opt.Lang)
	}
	qs, err := datasets.ReadQueries(topicsDir)
	if err != nil {
		return meta, err
	}
	qrels, err := datasets.ReadQrels(topicsDir)
	if err != nil {
		return meta, err
	}
	qs = slices.DeleteFunc(qs, func(q tables.Query) bool { return q.Lang != opt.Lang })
	if len(qs) == 0 {
		return meta, fmt.Errorf("the dataset input has no queries in %s (run dataset/miracl with this language)", opt.Lang)
	}
	inLang := map[string]bool{}
	for _, q := range qs {
		inLang[q.QID] = true
	}
	qrels = slices.DeleteFunc(qrels, func(r tables.Qrel) bool { return !inLang[r.QID] })
	kv := meta.TableMeta()
	if err := datasets.WriteQueries(outDir, qs, kv); err != nil {
		return meta, err
	}
	if err := datasets.WriteQrels(outDir, qrels, kv); err != nil {
		return meta, err
	}
	cw, err := datasets.CreateCandidates(outDir, kv)
	if err != nil {
		return meta, err
	}
	err = ReadCorpus(ctx, opt.Files, func(d Doc) error {
		if opt.Progress != nil {
			opt.Progress(1)
		}
		if !opt.Keep(d.DocID) {
			return nil
		}
		return cw.Write(Candidate(opt.Lang, d))
	})
	if cerr := cw.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return meta, err
	}
	meta.Counts["queries"], meta.Counts["qrels"], meta.Counts["candidates"] = int64(len(qs)), int64(len(qrels)), cw.Count
	return meta, datasets.WriteMeta(outDir, meta)
}
