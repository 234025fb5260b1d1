// Package reports renders lair's evaluation report: one self-contained
// report.html (inline CSS and SVG, no scripts, no external requests) made
// from metrics.parquet and per_query.parquet, plus the merged tables.
//
// The page shows, in order: a summary table (mono/cross/multi mAP, R@1,
// R@10 and rank distance per system and dataset, with the paper's
// reference rows marked as such), per-language heatmaps of mAP (mono on
// the diagonal, cross off it), language-bias charts (rank distance and
// the same-language-first share per query language), significance of
// every run against a baseline, and line charts of training logs.
//
// Every number shown comes from the metric rows (never recomputed) and
// carries data-run, data-dataset, data-setting, data-metric, data-qlang,
// data-clang and data-value attributes, so tests (and readers) can check
// the page against metrics.parquet.
//
// Build also writes summary.md and summary.svg (the main numbers and the
// key plot, for a README) and, with LanguageGroups, macro averages over
// groups of query languages (e.g. those unseen in training), computed by
// stats.GroupAverages into language_groups.parquet and only rendered here.
//
// BuildSweep makes the sweep report: run ids NAME[KEY=VALUE,...] are
// parsed (ParseRunID), metrics are averaged over a replicate key and drawn
// against an x key with a confidence band, and neighbouring x values are
// compared with paired randomization tests (sweep.html, sweep.md,
// sweep.svg, sweep.parquet, sweep_tests.parquet).
//
// LineChart draws a simple SVG line chart (with optional bands, dashed
// lines and markers) that other packages can reuse.
package reports
