package localrun_test

import (
	"context"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/lair-ir/lair/cluster/argo"
	"github.com/lair-ir/lair/cluster/argo/localrun"
)

func str(s string) *string { return &s }

func workflow() *argo.Workflow {
	task := func(name string, deps ...string) argo.DAGTask {
		return argo.DAGTask{Name: name, Template: "t", Dependencies: deps,
			Arguments: &argo.Arguments{Parameters: []argo.Parameter{{Name: "instance", Value: str(name + "[x]")}}}}
	}
	return &argo.Workflow{Spec: argo.WorkflowSpec{
		Entrypoint: "main",
		Arguments:  &argo.Arguments{Parameters: []argo.Parameter{{Name: "store", Value: str("s3://a")}}},
		Templates: []argo.Template{
			{Name: "main", DAG: &argo.DAGTemplate{Tasks: []argo.DAGTask{task("c", "a", "b"), task("a"), task("b", "a"), task("d")}}},
			{Name: "t", Container: &argo.Container{Command: []string{"echo"}, Args: []string{"{{inputs.parameters.instance}}", "{{workflow.parameters.store}}"}}},
		},
	}}
}

func TestStepsAndRun(t *testing.T) {
	steps, err := localrun.Steps(workflow(), map[string]string{"store": "s3://b"})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(steps[0].Argv, " "); got != "echo c[x] s3://b" {
		t.Errorf("argv = %q", got)
	}
	var mu sync.Mutex
	var order []string
	res, err := localrun.Run(context.Background(), steps, 2, func(ctx context.Context, s localrun.Step) *exec.Cmd {
		mu.Lock()
		order = append(order, s.Task)
		mu.Unlock()
		return exec.CommandContext(ctx, s.Argv[0], s.Argv[1:]...)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 4 {
		t.Fatalf("%d results", len(res))
	}
	pos := map[string]int{}
	for i, n := range order {
		pos[n] = i
	}
	if !(pos["a"] < pos["b"] && pos["b"] < pos["c"]) {
		t.Errorf("start order %v breaks dependencies", order)
	}
	for _, r := range res {
		if strings.TrimSpace(r.Stdout) != r.Step.Instance+" s3://b" {
			t.Errorf("%s printed %q", r.Step.Task, r.Stdout)
		}
	}
}

func TestRunStopsOnFailure(t *testing.T) {
	steps, err := localrun.Steps(workflow(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	ran := map[string]bool{}
	_, err = localrun.Run(context.Background(), steps, 1, func(ctx context.Context, s localrun.Step) *exec.Cmd {
		mu.Lock()
		ran[s.Task] = true
		mu.Unlock()
		if s.Task == "a" {
			return exec.CommandContext(ctx, "false")
		}
		return exec.CommandContext(ctx, "true")
	})
	if err == nil || !strings.Contains(err.Error(), "step a") {
		t.Fatalf("Run: %v", err)
	}
	if ran["b"] || ran["c"] {
		t.Errorf("dependents of a failed step ran: %v", ran)
	}
}

func TestStepsErrors(t *testing.T) {
	wf := workflow()
	wf.Spec.Templates[1].Container.Args = []string{"{{inputs.parameters.nosuch}}"}
	if _, err := localrun.Steps(wf, nil); err == nil || !strings.Contains(err.Error(), "unresolved") {
		t.Errorf("unresolved parameter: %v", err)
	}
	wf = workflow()
	wf.Spec.Templates[0].DAG.Tasks[0].Dependencies = []string{"zz"}
	if _, err := localrun.Steps(wf, nil); err == nil || !strings.Contains(err.Error(), `unknown dependency "zz"`) {
		t.Errorf("unknown dependency: %v", err)
	}
}
