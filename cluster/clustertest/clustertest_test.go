package clustertest

import (
	"testing"

	"github.com/lair-ir/lair/pipeline"
)

func TestSweepPlans(t *testing.T) {
	plan, err := pipeline.LoadFile(SweepDAG("."), Registry(), pipeline.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, in := range plan.Instances {
		names = append(names, in.Name)
	}
	t.Log(names)
	if len(names) != 10 {
		t.Fatalf("%d instances, want 10: %v", len(names), names)
	}
}
