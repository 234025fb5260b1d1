// Package eval evaluates retrieval runs the way the LAReQA and MIRACL
// papers do.
//
// The pipeline, in steps:
//
//  1. datasets.ReadChecked reads a dataset artifact (queries, candidates,
//     qrels) and checks it (unknown ids, empty languages, duplicates),
//     naming the file and the first bad row; eval has no reader of its own.
//  2. Prepare arranges the candidates by (language, id) so that each
//     language is one contiguous segment, and resolves every query's
//     relevant candidates (relevance > 0).
//  3. Retrieve runs an exact search (package search) with a dense scorer
//     (embeddings, dot product) or BM25 (package bm25) and produces
//     Rankings: for every query and setting (mono: its own language; cross:
//     every other language Y; multi: the pooled candidates of all
//     languages) the 1-based ranks of its relevant candidates in the full
//     ranking, and its top-k list. Rankings are written to rankings.parquet.
//     The rows are built on all threads and handed to the caller in order
//     (setting, then query), so writing or evaluating overlaps building.
//  4. Evaluate turns rankings into tidy metric rows (tables.Metric) per
//     query language, per (query language, candidate language) pair and
//     macro-averaged, plus per-query rows (tables.PerQuery) for
//     significance tests; language-bias metrics come from the multi
//     setting.
//  5. WriteRun / WriteQrels write TREC run and qrels files.
//
// eval owns the rankings artifact (rankings.parquet, meta.json) and the
// metrics artifact (metrics.parquet, per_query.parquet, runs/): stages
// use RetrieveToArtifact, RetrieveBM25Artifact, CreateRankingsArtifact,
// ReadRankingsArtifact, WriteRankingsMeta, EvaluateArtifact, ReadMetrics
// and WriteMetrics with the artifact directory (artifact.go).
//
// Subpackages: search (the exact retrieval kernel), metrics (per-query
// metric definitions), bm25 (the lexical baseline), significance (paired
// randomization and bootstrap tests, Holm correction), stats (the
// statistics of the reports, as tables), shard (sharded retrieval),
// fusion (rank and score fusion).
package eval
