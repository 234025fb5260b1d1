package stages

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lair-ir/lair/pipeline"
)

// TestTrainDeviceNotAvailable: device cuda without a usable plugin, and
// precision bf16, fail with one clear error before any input is read (the
// inputs here do not exist).
func TestTrainDeviceNotAvailable(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "xla_cuda_plugin.so")
	t.Setenv("LAIR_PJRT_PLUGIN", missing)
	ghost := []pipeline.Artifact{{Kind: pipeline.KindBatches, Key: "b", Dir: "/nonexistent/b"}, {Kind: pipeline.KindModel, Key: "m", Dir: "/nonexistent/m"}}
	for _, tc := range []struct {
		params map[string]any
		want   []string
	}{
		{map[string]any{"device": "cuda"}, []string{"stage train/contrastive: device cuda is not available: the PJRT plugin " + missing +
			" named by $LAIR_PJRT_PLUGIN does not exist"}},
		{map[string]any{"precision": "bf16"}, []string{"precision bf16 is not supported yet", "use precision: fp32"}},
	} {
		sc := stageCtx(t, trainContrastiveStage(), tc.params, ghost, t.TempDir())
		err := runTrainContrastive(context.Background(), sc)
		for _, w := range tc.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%v: err = %v, want %q", tc.params, err, w)
			}
		}
	}
	// The checkpoint folder does not depend on the device: a run
	// checkpointed on one device resumes on the other.
	a := stageCtx(t, trainContrastiveStage(), map[string]any{"device": "cpu"}, ghost, "")
	b := stageCtx(t, trainContrastiveStage(), map[string]any{"device": "cuda"}, ghost, "")
	c := stageCtx(t, trainContrastiveStage(), map[string]any{"lr": 1e-3}, ghost, "")
	if checkpointKey(a) != checkpointKey(b) || checkpointKey(a) == checkpointKey(c) {
		t.Errorf("checkpoint keys: cpu %s cuda %s lr %s", checkpointKey(a), checkpointKey(b), checkpointKey(c))
	}
}
