package stages

import "github.com/lair-ir/lair/pipeline"

func registerEncoder(r *pipeline.Registry) {}
