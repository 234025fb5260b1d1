package localrun

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/lair-ir/lair/cluster/argo"
)

// Step is one task resolved to the command its pod would run.
type Step struct {
	Task     string   // task name
	Instance string   // the task's "instance" parameter
	Deps     []string // task names
	Argv     []string // container command + args, substituted
	GPU      bool     // the template requests nvidia.com/gpu
}

// Steps resolves the DAG tasks of wf's entrypoint. params override
// workflow parameters (as `argo submit -p name=value` does).
func Steps(wf *argo.Workflow, params map[string]string) ([]Step, error) {
	tmpls := map[string]argo.Template{}
	var dag *argo.DAGTemplate
	for _, tm := range wf.Spec.Templates {
		tmpls[tm.Name] = tm
		if tm.Name == wf.Spec.Entrypoint {
			dag = tm.DAG
		}
	}
	if dag == nil {
		return nil, fmt.Errorf("workflow: entrypoint %q is not a DAG template", wf.Spec.Entrypoint)
	}
	wfParams := map[string]string{}
	if wf.Spec.Arguments != nil {
		for _, p := range wf.Spec.Arguments.Parameters {
			if p.Value != nil {
				wfParams["workflow.parameters."+p.Name] = *p.Value
			}
		}
	}
	for k, v := range params {
		wfParams["workflow.parameters."+k] = v
	}
	names := map[string]bool{}
	for _, task := range dag.Tasks {
		names[task.Name] = true
	}
	var out []Step
	for _, task := range dag.Tasks {
		tm, ok := tmpls[task.Template]
		if !ok || tm.Container == nil {
			return nil, fmt.Errorf("task %s: template %q is not a container template", task.Name, task.Template)
		}
		for _, d := range task.Dependencies {
			if !names[d] {
				return nil, fmt.Errorf("task %s: unknown dependency %q", task.Name, d)
			}
		}
		vars := map[string]string{}
		for k, v := range wfParams {
			vars[k] = v
		}
		if task.Arguments != nil {
			for _, p := range task.Arguments.Parameters {
				if p.Value != nil {
					vars["inputs.parameters."+p.Name] = *p.Value
				}
			}
		}
		var bad error
		subst := func(s string) string {
			for k, v := range vars {
				s = strings.ReplaceAll(s, "{{"+k+"}}", v)
			}
			if strings.Contains(s, "{{") && bad == nil {
				bad = fmt.Errorf("task %s: unresolved expression in %q", task.Name, s)
			}
			return s
		}
		argv := append(append([]string{}, tm.Container.Command...), tm.Container.Args...)
		for i := range argv {
			argv[i] = subst(argv[i])
		}
		if bad != nil {
			return nil, bad
		}
		gpu := tm.Container.Resources != nil && tm.Container.Resources.Limits["nvidia.com/gpu"] != ""
		out = append(out, Step{Task: task.Name, Instance: vars["inputs.parameters.instance"], Deps: task.Dependencies, Argv: argv, GPU: gpu})
	}
	return out, nil
}

// Result is how one step ended.
type Result struct {
	Step     Step
	Stdout   string
	Stderr   string
	Duration time.Duration
	Err      error
}

// Run runs steps in dependency order, at most parallel at once; command
// makes the process of a step (its Stdout and Stderr are set by Run). The
// first failure stops new steps from starting; Run waits for the running
// ones and returns every result so far with the error.
func Run(ctx context.Context, steps []Step, parallel int, command func(context.Context, Step) *exec.Cmd) ([]Result, error) {
	if parallel < 1 {
		parallel = 1
	}
	done := map[string]bool{}
	started := map[string]bool{}
	results := make(chan Result)
	var out []Result
	running := 0
	var firstErr error
	for len(out) < len(steps) {
		for _, s := range steps {
			if firstErr != nil || running >= parallel {
				break
			}
			if started[s.Task] {
				continue
			}
			ready := true
			for _, d := range s.Deps {
				ready = ready && done[d]
			}
			if !ready {
				continue
			}
			started[s.Task] = true
			running++
			go func(s Step) {
				var stdout, stderr bytes.Buffer
				cmd := command(ctx, s)
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				t0 := time.Now()
				err := cmd.Run()
				if err != nil {
					err = fmt.Errorf("step %s (%s): %v: %s", s.Task, s.Instance, err, strings.TrimSpace(stderr.String()))
				}
				results <- Result{Step: s, Stdout: stdout.String(), Stderr: stderr.String(), Duration: time.Since(t0), Err: err}
			}(s)
		}
		if running == 0 {
			if firstErr != nil {
				return out, firstErr
			}
			return out, fmt.Errorf("workflow: no step can start (dependency cycle?)")
		}
		r := <-results
		running--
		out = append(out, r)
		if r.Err != nil && firstErr == nil {
			firstErr = r.Err
		}
		done[r.Step.Task] = r.Err == nil
	}
	return out, firstErr
}
