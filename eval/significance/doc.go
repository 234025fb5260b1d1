// Package significance holds lair's paired tests between two runs, query
// by query: a paired randomization (sign-flip) test, paired bootstrap
// confidence intervals of the mean difference, win/tie/loss counts, and
// Holm's step-down correction across a family of tests.
//
// Everything is seeded: the same inputs and seed give the same p-values
// and intervals. Which runs, queries and families are tested (and how a
// query's value is formed) is package stats' job.
package significance
