package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/lair-ir/lair/pipeline"
	"github.com/lair-ir/lair/storage"
)

// StepOptions change how RunStep runs one instance.
type StepOptions struct {
	// WorkDir holds fetched inputs (WorkDir/artifacts/<key>, reused by
	// later steps on the same machine) and the output being built. Empty:
	// a temporary directory removed at the end.
	WorkDir string
	// ExpectKey, when set, is the key the exporter planned; RunStep fails
	// if the instance's key here differs.
	ExpectKey string
	// Env is passed to the stage.
	Env pipeline.Env
	// Log receives the stage's log; nil discards it.
	Log *slog.Logger
	// Progress receives the stage's progress; nil discards it.
	Progress pipeline.Progress
	// SkipCheck skips the store probe (the caller already checked).
	SkipCheck bool
}

// StepResult says what RunStep did.
type StepResult struct {
	Instance string
	Key      string
	Cached   bool // the key was already published: nothing ran
	// Inputs fetched from the store and their total size.
	InputsFetched int
	BytesFetched  int64
	// Files and bytes published (zero when cached).
	FilesPublished      int
	BytesPublished      int64
	Fetch, Run, Publish time.Duration
}

// String is the one line `lair stage run` prints.
func (r StepResult) String() string {
	if r.Cached {
		return fmt.Sprintf("%s %s cached", r.Instance, r.Key)
	}
	return fmt.Sprintf("%s %s ran: fetched %d inputs (%d bytes) in %s, ran in %s, published %d files (%d bytes) in %s",
		r.Instance, r.Key, r.InputsFetched, r.BytesFetched, r.Fetch.Round(time.Millisecond),
		r.Run.Round(time.Millisecond), r.FilesPublished, r.BytesPublished, r.Publish.Round(time.Millisecond))
}

// FindInstance returns the named instance of plan, or an error naming the
// closest instance names.
func FindInstance(plan *pipeline.Plan, name string) (*pipeline.Instance, error) {
	if in, ok := plan.Instance(name); ok {
		return in, nil
	}
	var names []string
	for _, in := range plan.Instances {
		names = append(names, in.Name)
	}
	sort.Strings(names)
	return nil, fmt.Errorf("DAG %s has no stage instance %q; its instances are: %s", plan.DAG.Path, name, strings.Join(names, ", "))
}

// RunStep runs one instance of plan against store: it fetches the
// instance's inputs from the store, runs the stage and publishes its
// output under the instance's key. A key already published is not redone.
func RunStep(ctx context.Context, plan *pipeline.Plan, name string, store storage.Backend, opts StepOptions) (StepResult, error) {
	in, err := FindInstance(plan, name)
	if err != nil {
		return StepResult{}, err
	}
	res := StepResult{Instance: in.Name, Key: in.Key}
	if opts.ExpectKey != "" && opts.ExpectKey != in.Key {
		return res, fmt.Errorf("instance %s: planned key here is %s but the workflow was exported with %s: the image holds another DAG file, other --set values or another lair version than the export; rebuild the image or export again", in.Name, in.Key, opts.ExpectKey)
	}
	if in.Type == nil || in.Type.Run == nil {
		return res, fmt.Errorf("instance %s: stage type has no Run function", in.Name)
	}
	if !opts.SkipCheck {
		if err := store.Check(ctx); err != nil {
			return res, err
		}
	}
	if ok, err := storage.Has(ctx, store, in.Key); err != nil {
		return res, fmt.Errorf("instance %s: %w", in.Name, err)
	} else if ok {
		res.Cached = true
		return res, nil
	}

	work := opts.WorkDir
	if work == "" {
		work, err = os.MkdirTemp("", "lair-step-")
		if err != nil {
			return res, err
		}
		defer os.RemoveAll(work)
	}
	artDir := filepath.Join(work, "artifacts")

	t0 := time.Now()
	var inputs []pipeline.Artifact
	for _, up := range in.Inputs {
		dir := filepath.Join(artDir, up.Key)
		n, err := fetchInput(ctx, store, up.Key, dir)
		if errors.Is(err, storage.ErrNotFound) {
			return res, fmt.Errorf("instance %s: input %s (key %s) is not in store %s: run that step first (in the workflow it is a dependency)", in.Name, up.Name, up.Key, store)
		}
		if err != nil {
			return res, fmt.Errorf("instance %s: input %s: %w", in.Name, up.Name, err)
		}
		if n >= 0 {
			res.InputsFetched++
			res.BytesFetched += n
		}
		kind := pipeline.Kind("")
		if up.Type != nil {
			kind = up.Type.Output
		}
		inputs = append(inputs, pipeline.Artifact{Kind: kind, Stage: up.Name, Matrix: up.Matrix, Key: up.Key, Dir: dir})
	}
	res.Fetch = time.Since(t0)

	if err := os.MkdirAll(filepath.Join(work, "out"), 0o755); err != nil {
		return res, err
	}
	out, err := os.MkdirTemp(filepath.Join(work, "out"), in.Key[:min(12, len(in.Key))]+"-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(out)
	log := opts.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	prog := opts.Progress
	if prog == nil {
		prog = pipeline.NopProgress{}
	}
	sc := &pipeline.StageContext{
		Name:     in.Name,
		Type:     in.Type,
		Params:   in.Params,
		Inputs:   inputs,
		OutDir:   out,
		Env:      opts.Env,
		Log:      log.With("stage", in.Name),
		Progress: prog,
	}
	t1 := time.Now()
	if err := in.Type.Run(ctx, sc); err != nil {
		return res, fmt.Errorf("stage %s (%s): %w", in.Name, in.Type.Name, err)
	}
	res.Run = time.Since(t1)

	t2 := time.Now()
	m, err := store.Publish(ctx, in.Key, out)
	if err != nil {
		return res, fmt.Errorf("instance %s: publish: %w", in.Name, err)
	}
	res.Publish = time.Since(t2)
	res.FilesPublished = len(m.Files)
	res.BytesPublished = m.Size()
	return res, nil
}

// fetchInput makes dir a copy of key unless it exists, returning the bytes
// fetched (-1 when dir was there already). Directories only appear in dir
// complete (renamed into place), so one that exists, or that another step
// sharing the work directory fetched meanwhile, is used as it is.
func fetchInput(ctx context.Context, store storage.Backend, key, dir string) (int64, error) {
	if _, err := os.Stat(dir); err == nil {
		return -1, nil
	}
	m, err := store.Fetch(ctx, key, dir)
	if err != nil {
		if _, serr := os.Stat(dir); serr == nil {
			return -1, nil
		}
		return 0, err
	}
	return m.Size(), nil
}
