// Package stages holds lair's stage types: thin adapters from the DAG
// (parameters, input artifacts, an output directory) to one domain package
// each (datasets, batching, encoder, eval, reports).
//
// Each file registers the types of one domain; Register adds them all.
//
// A stage never names a file inside an artifact or decodes a format: it
// passes the artifact directory to the kind's owner package (datasets,
// datasets/pairs, datasets/leakage, tables for embeddings, encoder/model,
// batching, eval for rankings and metrics, eval/shard, reports).
// ownership_test.go keeps it so (README: "Who owns which artifact").
package stages
