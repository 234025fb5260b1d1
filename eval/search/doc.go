// Package search is lair's exact retrieval engine.
//
// It scores every query against every candidate it needs (dot products of
// float32 vectors with a blocked AVX2/FMA kernel, or any other Scorer such
// as BM25), streaming blocks of candidates so that memory stays bounded by
// threads x query block x (candidate block + top-k), and returns for every
// query:
//
//  1. for each relevant candidate and each segment (language) of the pool,
//     how many candidates of that segment rank ahead of it, from which the
//     rank of the relevant candidate in any union of segments follows
//     exactly (mono: its own language; cross: one other language; multi:
//     all languages), over the full ranking;
//  2. the top-k list of each scored segment and, merged, of the pool.
//
// Rankings are deterministic: score descending, then candidate id
// ascending (the caller supplies each candidate's id order).
//
// Cost outside the kernel: a top-k list keeps a buffer of packed (score,
// order) keys; once it has a threshold, each score row is filtered with one
// AVX2 compare per 8 candidates and only the survivors are keyed; full
// buffers are cut back at a pivot estimated from a sample (one branch-free
// pass) and the final list is radix-sorted. The kernel's horizontal
// reductions run inside the assembly, in the same order as the Go fallback.
//
// Shards (shards.go): a corpus too large for one search is searched shard
// by shard (SearchShard over a Chunked matrix, e.g. memory-mapped record
// batches); each shard returns every query's top-k with ids and, for
// given (score, id) thresholds such as the relevant candidates', how many
// of its candidates rank ahead. MergeTop merges the shards' lists into the
// list one search over the whole corpus gives, ties included, and the
// counts summed plus one are exact ranks over the whole corpus.
//
// BenchmarkFMAPeak measures the core's fp32 FMA peak, the ceiling for
// BenchmarkKernel (both in GFLOP per CPU-second as well as per second).
package search
