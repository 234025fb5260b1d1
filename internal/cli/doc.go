// Package cli implements the lair command line (see cmd/lair): run,
// validate, stages, graph, runs, show, gc and version, over package
// pipeline. cmd/lair's main is thin over Run, passing the registry of
// lair's stage types and the commands implemented elsewhere (Extra), so
// this package and its end-to-end tests (testscript, scripts in
// cmd/lair/testdata/script) run with their own debug stage types.
package cli
