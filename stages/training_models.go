package stages

import "github.com/lair-ir/lair/pipeline"

// registerTrainingModels registers model/tiny and train/contrastive.
func registerTrainingModels(r *pipeline.Registry) {}
