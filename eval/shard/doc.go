// Package shard owns the files that sharded retrieval (the corpus/shard,
// encode/shard, retrieve/gather, retrieve/*-shard, retrieve/bm25-stats and
// retrieve/merge stages) adds to ordinary artifacts, and merges per-shard
// results into exact rankings:
//
//   - shard.json (Info): which shard of which language a dataset, embeddings
//     or per-shard rankings artifact is.
//   - shard_rankings.parquet (Row): one query's result in one shard: its
//     top-k and, per relevant passage, how many shard passages rank ahead.
//   - gather.json: marks the embeddings artifact of retrieve/gather.
//   - bm25_stats.parquet and bm25_stats.json (StatRow, Totals): BM25
//     statistics summed over a language's shards.
//
// Stages call the functions here with artifact directories and never name
// these files. The work of those stages is here too: Gather copies the
// query and relevant vectors out of every shard; SearchDense and
// SearchBM25 search one shard (top-k per query, and for each relevant
// passage the shard passages ranked ahead of it); CollectBM25 sums BM25
// statistics over the shards; Merge turns the shards' rows into
// eval.Rankings: the merged top-k equals one search over the whole corpus,
// ties included, and each relevant passage's rank is 1 + the passages
// ahead summed over shards.
package shard
