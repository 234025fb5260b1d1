// Package cli implements the lair command line (see cmd/lair): one command
// table (run, validate, stages, graph, runs, show, gc, verify, stage run,
// export argo, model new, version), one flag idiom (the standard flag
// package, flags anywhere among the arguments) and one --set parser. Domain
// packages export functions (pipeline.Execute, argo.Export,
// modelgen.Generate); the flags live here. cmd/lair's main is thin over
// Run, passing the registry of lair's stage types, so this package and its
// end-to-end tests (testscript, scripts in cmd/lair/testdata/script) run
// with their own debug stage types.
package cli
