package train

import (
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
)

// GoMLX v0.28.0 defines no gradient for its Identity node, which
// onnx-gomlx emits for ONNX Identity (common in exported transformers: tied
// weights, named outputs) and for Dropout at inference. The gradient of the
// identity is the identity; it is registered once, only where GoMLX lacks
// one (a later GoMLX that defines it keeps its own).
func init() {
	if _, ok := graph.VJPRegistration[graph.NodeTypeIdentity]; !ok {
		graph.VJPRegistration[graph.NodeTypeIdentity] = func(_ *graph.Node, v []*graph.Node, _ shapes.Shape) []*graph.Node {
			return []*graph.Node{v[0]}
		}
	}
}
