package stages

import "github.com/lair-ir/lair/pipeline"

func registerEval(r *pipeline.Registry) {}
