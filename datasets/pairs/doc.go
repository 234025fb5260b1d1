// Package pairs makes lair's training pairs (tables.Pair).
//
// FromDataset derives them from a parallel QA dataset artifact: for each
// question group and each ordered pair of languages (X, Y), the question in
// X paired with the answer sentence in Y ("mono" when X = Y, else "cross"),
// with a seeded train/validation split over groups that share no paragraph.
// ReadFile reads a user's own pairs from Parquet or JSONL in the same schema
// and validates every field. Write stores a pairs artifact.
package pairs
