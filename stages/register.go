package stages

import "github.com/lair-ir/lair/pipeline"

// Register adds every stage type lair ships to r.
func Register(r *pipeline.Registry) {
	registerDatasets(r)
	registerEval(r)
	registerEncoder(r)
	registerTraining(r)
	registerBeyond(r)
	registerShards(r)
}
