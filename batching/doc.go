// Package batching turns training pairs (tables.Pair) into an exact, seeded
// batch plan: the list of training batches, in order, that a training run
// consumes. A plan is written as an Arrow IPC file in which one record batch
// is one training batch (see WriteArrow for the schema).
//
// The pipeline, in steps:
//
//  1. Only pairs with Split == "train" are eligible; they are sorted by
//     pair_id so the plan does not depend on the row order of pairs.parquet.
//  2. Eligible pairs are put into pools: one pool per language for
//     monolingual pairs (q_lang == p_lang), one pool per ordered language
//     pair (X, Y) with X != Y for cross-lingual pairs (and, for
//     strategy=proportional with proportional_by=source, one pool per source).
//  3. For every epoch e, a generator seeded from (seed + e) shuffles every
//     pool, then batches are drawn without replacement until the strategy
//     can no longer be honoured (see Strategy for the exact rules).
//  4. A batch never holds two pairs of the same group_id: a pair whose group
//     is already in the batch is skipped and stays in its pool for a later
//     batch.
//
// The same pairs and Config always give the same plan and byte-identical
// files.
package batching
