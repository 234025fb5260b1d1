package pipeline

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sort"

	"github.com/lair-ir/lair/storage"
)

// RerunResult is how one re-executed instance compared with its stored
// artifact.
type RerunResult struct {
	Instance *Instance
	// Diff lists the files whose content differs, and files only one side
	// has ("+name": made now but not stored; "-name": stored but not made
	// now). Empty: the same output.
	Diff []string
	Err  error // the instance could not be re-executed
}

// Rerun re-executes up to n instances of plan whose artifacts (and whose
// inputs) are published in st, each into a temp dir that is discarded
// afterwards, and compares what they make with the published manifests,
// file by file, as Go's GODEBUG=gocacheverify=1 does for its build cache.
// A stage whose output for the same key differs is not deterministic, and
// its cache hits are not to be trusted. The sample is spread evenly over
// the plan order. The store is not changed.
func Rerun(ctx context.Context, plan *Plan, st storage.Store, env Env, n int) ([]RerunResult, error) {
	type cand struct {
		in *Instance
		m  *storage.Manifest
	}
	var cands []cand
	for _, in := range plan.Instances {
		m, err := st.Manifest(ctx, in.Key)
		if err != nil {
			continue
		}
		cands = append(cands, cand{in, m})
	}
	if len(cands) == 0 {
		return nil, fmt.Errorf("--rerun: no stage instance of %s has its artifact in store %s: run the DAG first", plan.DAG.Path, st)
	}
	n = min(n, len(cands))
	out := make([]RerunResult, 0, n)
	for i := range n {
		c := cands[i*len(cands)/n]
		r := RerunResult{Instance: c.in}
		r.Diff, r.Err = rerunOne(ctx, c.in, c.m, st, env)
		out = append(out, r)
		if ctx.Err() != nil {
			return out, ctx.Err()
		}
	}
	return out, nil
}

func rerunOne(ctx context.Context, in *Instance, want *storage.Manifest, st storage.Store, env Env) ([]string, error) {
	inputs := make([]Artifact, len(in.Inputs))
	for k, up := range in.Inputs {
		dir, err := st.Path(ctx, up.Key)
		if err != nil {
			return nil, fmt.Errorf("re-run %s: input %s: %w", in.Name, up.Name, err)
		}
		inputs[k] = Artifact{Kind: up.Type.Output, Stage: up.Name, Matrix: up.Matrix, Key: up.Key, Dir: dir}
	}
	tmp, err := st.NewTemp(ctx, in.Key)
	if err != nil {
		return nil, err
	}
	defer st.Discard(tmp)
	sc := &StageContext{Name: in.Name, Key: in.Key, Type: in.Type, Params: in.Params, Inputs: inputs,
		OutDir: tmp, Env: env, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Progress: NopProgress{}}
	if err := runStage(ctx, in.Type, sc); err != nil {
		return nil, fmt.Errorf("re-run %s: %w", in.Name, err)
	}
	got, err := storage.ScanDir(ctx, in.Key, tmp)
	if err != nil {
		return nil, err
	}
	return diffFiles(want, got), nil
}

// diffFiles lists the files that differ between two manifests.
func diffFiles(want, got *storage.Manifest) []string {
	w := map[string]storage.File{}
	for _, f := range want.Files {
		w[f.Path] = f
	}
	var diff []string
	for _, f := range got.Files {
		old, ok := w[f.Path]
		switch {
		case !ok:
			diff = append(diff, "+"+f.Path)
		case old.SHA256 != f.SHA256:
			diff = append(diff, f.Path)
		}
		delete(w, f.Path)
	}
	for p := range w {
		diff = append(diff, "-"+p)
	}
	sort.Strings(diff)
	return diff
}
