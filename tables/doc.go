// Package tables defines lair's normalized tables (queries, candidates,
// qrels, training pairs, metrics, per-query scores) as Go structs and reads
// and writes them as zstd-compressed Parquet.
//
// The schemas are the contract between stages: a dataset stage writes
// queries.parquet, candidates.parquet and qrels.parquet; the pairs stages
// write pairs.parquet; evaluation writes metrics.parquet and per_query.parquet.
// Every file opens in pandas, polars and DuckDB.
package tables
