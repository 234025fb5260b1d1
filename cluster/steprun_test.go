package cluster_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lair-ir/lair/cluster"
	"github.com/lair-ir/lair/pipeline"
	"github.com/lair-ir/lair/storage/dirstore"
)

// TestRunStepInProcess runs the sweep step by step in plan order against a
// directory store, with a work directory shared by the steps (as on one
// node), and checks fetching, caching and the errors a step can meet.
func TestRunStepInProcess(t *testing.T) {
	ctx := context.Background()
	plan := loadSweep(t, nil)
	st := dirstore.New(filepath.Join(t.TempDir(), "store"))
	work := t.TempDir()

	// Out of order: an input that is not published yet.
	_, err := cluster.RunStep(ctx, plan, "square[seed=1]", st, cluster.StepOptions{WorkDir: work})
	if err == nil || !strings.Contains(err.Error(), "gen[seed=1]") || !strings.Contains(err.Error(), "is not in store") {
		t.Fatalf("step before its input: %v", err)
	}
	fetched := 0
	for _, in := range plan.Instances {
		res, err := cluster.RunStep(ctx, plan, in.Name, st, cluster.StepOptions{WorkDir: work, ExpectKey: in.Key})
		if err != nil {
			t.Fatal(err)
		}
		if res.Cached || res.Key != in.Key || res.FilesPublished == 0 {
			t.Errorf("%s: %+v", in.Name, res)
		}
		fetched += res.InputsFetched
	}
	// With one work directory, sum's three inputs were fetched, and every
	// other input once: 3 gen + 3 square + 3 train.
	if fetched != 9 {
		t.Errorf("fetched %d inputs, want 9 (each once)", fetched)
	}
	res, err := cluster.RunStep(ctx, plan, "sum", st, cluster.StepOptions{})
	if err != nil || !res.Cached || res.String() != "sum "+res.Key+" cached" {
		t.Errorf("second run of sum: %v, %v", res, err)
	}
	if _, err := cluster.RunStep(ctx, plan, "sum", st, cluster.StepOptions{ExpectKey: "0000"}); err == nil || !strings.Contains(err.Error(), "exported with 0000") {
		t.Errorf("stale key: %v", err)
	}
	if _, err := cluster.RunStep(ctx, plan, "gen[seed=9]", st, cluster.StepOptions{}); err == nil || !strings.Contains(err.Error(), "gen[seed=1], gen[seed=2]") {
		t.Errorf("unknown instance: %v", err)
	}
	// A temporary work directory is removed.
	before, _ := os.ReadDir(os.TempDir())
	st2 := dirstore.New(filepath.Join(t.TempDir(), "store2"))
	gen, _ := plan.Instance("gen[seed=1]")
	if _, err := cluster.RunStep(ctx, plan, gen.Name, st2, cluster.StepOptions{}); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadDir(os.TempDir())
	if len(after) > len(before) {
		t.Errorf("temporary directory left behind: %d entries before, %d after", len(before), len(after))
	}
}

func TestStageRunCommandUsage(t *testing.T) {
	var out, errb strings.Builder
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{}, "want DAG and INSTANCE"},
		{[]string{"a.yaml"}, "want DAG and INSTANCE"},
		{[]string{"a.yaml", "x"}, "--store is required"},
		{[]string{"a.yaml", "x", "--store", "s3://b", "--set", "bad"}, "want NAME=VALUE"},
		{[]string{"nosuch.yaml", "x", "--store", "s3://b"}, "nosuch.yaml"},
	} {
		t.Setenv("LAIR_STORE", "")
		err := cluster.StageRunCommand(context.Background(), tc.args, nil, envZero, &out, &errb)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("StageRunCommand(%q) = %v, want an error with %q", tc.args, err, tc.want)
		}
	}
	out.Reset()
	if err := cluster.StageRunCommand(context.Background(), []string{"--help"}, nil, envZero, &out, &errb); err != nil || !strings.Contains(out.String(), "usage: lair stage run") {
		t.Errorf("--help: %v, %q", err, out.String())
	}
}

var envZero = pipeline.Env{}
