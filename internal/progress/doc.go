// Package progress shows what the stages of a lair run are doing: one
// live line per running stage (phase, items done/total, rate, ETA) when
// stderr is a terminal, and throttled slog lines otherwise. A Display's
// Stage method is what pipeline.RunOptions.Progress takes.
package progress
