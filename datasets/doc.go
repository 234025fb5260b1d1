// Package datasets turns raw evaluation and training data into lair's
// normalized tables (package tables) and writes them as artifacts.
//
// The work is split into subpackages, each one step of the prepare DAG:
//
//   - download: pinned raw files (URL at a full commit + sha256), fetched through
//     a checksum-keyed cache, from the origin or a mirror, with retries and resume.
//   - lareqa: XQuAD-R and MLQA-R (SQuAD JSON plus sentence breaks) into queries,
//     candidates (one per sentence) and qrels (every translation's answer sentence).
//   - miracl: MIRACL dev topics and qrels (TREC formats) and a streaming reader of
//     the official corpus layout.
//   - pairs: training pairs from a parallel QA dataset, or from a user's file.
//   - leakage: the gate that fails when evaluation text occurs in training pairs.
//
// This package holds what they share and owns the dataset artifact: its
// layout (queries, candidates, qrels Parquet files plus meta.json) and the
// one reader (Read, ReadChecked, ReadQueries, ReadCandidateBatches, ...) and
// writer (Dataset.Write, WriteQueries, CreateCandidates, ...) of it. Stages,
// eval and the other packages go through these and never name its files.
package datasets
