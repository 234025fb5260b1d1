// Package miracl reads MIRACL v1.0 dev (18 languages, monolingual retrieval).
//
// Topics (qid<TAB>query) become queries "miracl/<lang>/<qid>"; TREC qrels
// (qid Q0 docid rel) become qrels rows, relevance 0 rows included. The
// corpus, not redistributed here, is read in its official layout
// <corpus_dir>/<lang>/docs-*.jsonl.gz (lines {"docid","title","text"}; the
// Hugging Face directory names miracl-corpus-v1.0-<lang> work too) as a
// stream: passages go through a datasets.CandidateWriter that flushes a Parquet row
// group every datasets.RowGroupRows rows, so memory stays bounded for any corpus size.
// Without a corpus, Prepare fails with a MissingCorpusError that says where
// to put it, unless TopicsOnly is set.
package miracl
