package stages

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lair-ir/lair/pipeline"
)

// TestTrainDeviceNotAvailable: device cuda without a usable plugin fails
// with one clear error before any input is read (the inputs here do not
// exist).
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
	} {
		sc := stageCtx(t, trainContrastiveStage(), tc.params, ghost, t.TempDir())
		err := runTrainContrastive(context.Background(), sc)
		for _, w := range tc.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%v: err = %v, want %q", tc.params, err, w)
			}
		}
	}
	// Checkpoints are named by the instance key: a run resumes only the
	// instance it was killed in (another device is another instance).
	cache := t.TempDir()
	a := stageCtx(t, trainContrastiveStage(), map[string]any{"device": "cpu"}, ghost, cache)
	b := stageCtx(t, trainContrastiveStage(), map[string]any{"device": "cuda"}, ghost, cache)
	if got := checkpointDir(a); got != filepath.Join(cache, "train", a.Key) {
		t.Errorf("checkpoint dir %s, want %s/train/<instance key %s>", got, cache, a.Key)
	}
	if checkpointDir(a) == checkpointDir(b) {
		t.Errorf("cpu and cuda instances share checkpoint dir %s", checkpointDir(a))
	}
	a.Key = ""
	if got := checkpointDir(a); got != "" {
		t.Errorf("checkpoint dir without an instance key: %s, want none", got)
	}
}
