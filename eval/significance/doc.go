// Package significance compares two runs query by query: a paired
// randomization (sign-flip) test, paired bootstrap confidence intervals of
// the mean difference, win/tie/loss counts, and Holm's step-down
// correction across the languages of one comparison family.
//
// The unit of pairing is a query: in the cross setting a query's value is
// the mean over its candidate languages. Everything is seeded: the same
// inputs and seed give the same p-values and intervals.
package significance
