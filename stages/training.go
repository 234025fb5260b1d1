package stages

import "github.com/lair-ir/lair/pipeline"

func registerTraining(r *pipeline.Registry) {}
