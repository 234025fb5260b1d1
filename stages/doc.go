// Package stages holds lair's stage types: thin adapters from the DAG
// (parameters, input artifacts, an output directory) to one domain package
// each (datasets, batching, encoder, eval, reports).
//
// Each file registers the types of one domain; Register adds them all.
package stages
