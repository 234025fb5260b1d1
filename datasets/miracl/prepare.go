package miracl

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/lair-ir/lair/datasets"
	"github.com/lair-ir/lair/tables"
)

// Options control Prepare.
type Options struct {
	Languages  []string // empty: all 18
	CorpusDir  string   // holds <lang>/docs-*.jsonl.gz
	TopicsOnly bool     // emit queries and qrels only (candidates.parquet is empty)
	OnlyJudged bool     // keep only passages that appear in the qrels
}

// Files are the raw topics and qrels paths of one language.
type Files struct{ Topics, Qrels string }

// Progress receives counts (pipeline.Progress satisfies it).
type Progress interface {
	Start(phase string, total int64)
	Add(n int64)
}

// SelectLanguages validates a language selection (empty = all 18).
func SelectLanguages(sel []string) ([]string, error) {
	if len(sel) == 0 {
		return slices.Clone(Languages), nil
	}
	var out []string
	for _, l := range Languages {
		if slices.Contains(sel, l) {
			out = append(out, l)
		}
	}
	for _, l := range sel {
		if !slices.Contains(Languages, l) {
			return nil, fmt.Errorf("miracl has no language %q; it has %v", l, Languages)
		}
	}
	return out, nil
}

// Prepare writes the miracl dataset artifact into outDir: queries and
// qrels from the topics and qrels files, candidates streamed from the
// corpus (unless TopicsOnly). It returns the artifact's meta.
func Prepare(ctx context.Context, langs []string, files map[string]Files, opt Options, outDir string, prog Progress) (datasets.Meta, error) {
	meta := datasets.Meta{Dataset: Name, Languages: langs, License: License, Counts: map[string]int64{},
		Notes: []string{"MIRACL v1.0 dev topics and qrels from castorini/anserini-tools at 5b819c1a45c8a0a3ec9426f476694f44a29dfaf3; qrels keep relevance 0 (judged non-relevant) rows"}}
	var queries []tables.Query
	var qrels []tables.Qrel
	judged := map[string]map[string]bool{} // lang -> docid
	for _, l := range langs {
		f, ok := files[l]
		if !ok {
			return meta, fmt.Errorf("miracl: no topics/qrels files for %s (expected miracl/%s and miracl/%s)", l, TopicsFile(l), QrelsFile(l))
		}
		topics, err := readFile(ctx, f.Topics, "miracl/"+TopicsFile(l), ReadTopics)
		if err != nil {
			return meta, err
		}
		js, err := readFile(ctx, f.Qrels, "miracl/"+QrelsFile(l), ReadQrels)
		if err != nil {
			return meta, err
		}
		known := map[string]bool{}
		for _, t := range topics {
			known[t.QID] = true
			qid := QID(l, t.QID)
			queries = append(queries, tables.Query{Dataset: Name, Split: "dev", QID: qid, GroupID: qid, Lang: l, Text: t.Query})
		}
		judged[l] = map[string]bool{}
		for i, j := range js {
			if !known[j.QID] {
				return meta, fmt.Errorf("miracl/%s:%d: qid %s has no topic in miracl/%s", QrelsFile(l), i+1, j.QID, TopicsFile(l))
			}
			judged[l][j.DocID] = true
			qrels = append(qrels, tables.Qrel{Dataset: Name, QID: QID(l, j.QID), CID: CID(l, j.DocID), Relevance: j.Rel})
		}
	}
	meta.Counts["queries"] = int64(len(queries))
	meta.Counts["qrels"] = int64(len(qrels))
	kv := meta.TableMeta()
	if err := datasets.WriteQueries(outDir, queries, kv); err != nil {
		return meta, err
	}
	if err := datasets.WriteQrels(outDir, qrels, kv); err != nil {
		return meta, err
	}
	cw, err := datasets.CreateCandidates(outDir, kv)
	if err != nil {
		return meta, err
	}
	if opt.TopicsOnly {
		meta.Notes = append(meta.Notes, "topics_only: candidates.parquet is empty; supply the corpus (corpus_dir) to evaluate")
	} else {
		corpora := map[string][]string{}
		var missing []string
		for _, l := range langs {
			fs, err := CorpusFiles(opt.CorpusDir, l)
			if err != nil {
				cw.Close()
				return meta, err
			}
			if opt.CorpusDir == "" || len(fs) == 0 {
				missing = append(missing, l)
			}
			corpora[l] = fs
		}
		if len(missing) > 0 {
			cw.Close()
			return meta, &MissingCorpusError{Dir: opt.CorpusDir, Langs: missing}
		}
		if prog != nil {
			prog.Start("corpus passages", 0)
		}
		var notFound int64
		for _, l := range langs {
			found := map[string]bool{}
			err := ReadCorpus(ctx, corpora[l], func(d Doc) error {
				if prog != nil {
					prog.Add(1)
				}
				if judged[l][d.DocID] {
					found[d.DocID] = true
				} else if opt.OnlyJudged {
					return nil
				}
				return cw.Write(Candidate(l, d))
			})
			if err != nil {
				cw.Close()
				return meta, err
			}
			notFound += int64(len(judged[l]) - len(found))
		}
		meta.Counts["judged_docs_not_in_corpus"] = notFound
	}
	if err := cw.Close(); err != nil {
		return meta, err
	}
	meta.Counts["candidates"] = cw.Count
	return meta, datasets.WriteMeta(outDir, meta)
}

func readFile[T any](ctx context.Context, path, name string, parse func(context.Context, string, io.Reader) ([]T, error)) ([]T, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	defer f.Close()
	return parse(ctx, name, f)
}
