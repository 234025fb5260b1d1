package stages

import "github.com/lair-ir/lair/pipeline"

func registerDatasets(r *pipeline.Registry) {}
