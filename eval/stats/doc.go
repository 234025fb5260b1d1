// Package stats computes the statistics of lair's reports from per-query
// rows streamed out of per_query.parquet files, one (run, dataset,
// setting) slice at a time, so that memory does not grow with the
// number of runs:
//
//   - Compare: every run against a baseline (paired randomization test,
//     bootstrap CI, win/tie/loss, Holm across languages), the tables of
//     report/html;
//   - SweepTests: paired tests between neighbouring x values of a sweep
//     (per-query values averaged over replicates, Holm across the pairs),
//     the tests of report/sweep;
//   - MacroIntervals: the macro average over query languages of a metric
//     per (run, dataset, setting) with its stratified bootstrap interval,
//     the whiskers of report/html's mAP-against-RD charts;
//   - SweepPoints, Band and TQuantile975: a sweep point's mean over
//     replicates and its band (t-based 95% CI, min–max or none), and the
//     reference lines of runs without x: sweep.parquet;
//   - GroupAverages: macro averages over groups of query languages (e.g.
//     unseen in training) and over the other ones, from metric rows: the
//     language_groups.parquet that report/html's summaries render.
//
// The tests themselves (randomization, bootstrap, Holm) are in package
// significance; the renderers in package reports only render the tables
// this package returns.
package stats
