package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lair-ir/lair/encoder/onnxpb"
	"github.com/lair-ir/lair/pipeline"
)

// TestModelNewStyle: the style flags of `lair model new` reach the
// generator (torch.onnx patterns, token_embeddings output, external data),
// and a bad style value is refused.
func TestModelNewStyle(t *testing.T) {
	reg := pipeline.NewRegistry()
	dir := filepath.Join(t.TempDir(), "m")
	args := []string{"model", "new", "-arch", "distilbert", "-layers", "1", "-hidden", "16", "-heads", "2", "-style", "torch",
		"-layer-norm", "decomposed", "-gelu", "tanh", "-output", "token_embeddings", "-external-threshold", "1024", dir}
	if code, stdout, stderr := runCLI(reg, args...); code != 0 || !strings.Contains(stdout, "wrote distilbert model") {
		t.Fatalf("exit %d: %s %s", code, stdout, stderr)
	}
	m, err := onnxpb.ReadFile(filepath.Join(dir, "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	ops := map[string]bool{}
	for _, n := range m.Graph.Nodes {
		ops[n.OpType] = true
	}
	if !ops["ReduceMean"] || !ops["Tanh"] || !ops["Where"] || m.Graph.Outputs[0].Name != "token_embeddings" || m.Opsets[0].Version != 14 {
		t.Errorf("ops %v, output %s, opset %d", ops, m.Graph.Outputs[0].Name, m.Opsets[0].Version)
	}
	if _, err := os.Stat(filepath.Join(dir, "model.onnx_data")); err != nil {
		t.Error(err)
	}
	if code, _, stderr := runCLI(reg, "model", "new", "-gelu", "relu", filepath.Join(t.TempDir(), "x")); code != 1 || !strings.Contains(stderr, `gelu "relu"`) {
		t.Errorf("bad gelu: exit %d, %s", code, stderr)
	}
}
