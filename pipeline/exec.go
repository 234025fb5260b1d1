package pipeline

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/sourcegraph/conc/pool"

	"github.com/lair-ir/lair/storage"
)

// RunOptions configure Execute.
type RunOptions struct {
	Store storage.Store // required
	// Jobs bounds how many instances run at once; <= 0 means runtime.NumCPU().
	Jobs int
	// Force re-runs these stages (all their instances; an instance name
	// names just that instance) and everything downstream, even when cached.
	Force []string
	Env   Env
	// Logger receives the engine's and the stages' logs; nil discards them.
	Logger *slog.Logger
	// Progress, when set, gives each running instance its progress
	// reporter; the returned func is called when the instance ends.
	Progress func(instance string) (Progress, func())
	// RunsDir, when set, is where the run is recorded: RunsDir/<id>/
	// manifest.json, one link per instance into the store, and
	// RunsDir/latest naming the newest run.
	RunsDir string
	// RunID names the run; "" makes one from the time.
	RunID string
	// LairVersion is recorded in the manifest.
	LairVersion string
	// OnDone, when set, is called (from the scheduler, one at a time) as
	// each instance ends, in the order they end.
	OnDone func(InstanceResult)
	// Only, when set, restricts the run to this one instance (a name as
	// Plan.Instance takes it): its inputs are taken from the store, never
	// built (an input missing there fails the run, naming it), and the
	// instance is reused when its key is published. This is `lair stage
	// run`, one step of a workflow on a cluster.
	Only string
}

// InstanceResult is how one instance of a run ended.
type InstanceResult struct {
	Instance *Instance
	Status   string // cached, ran, failed or skipped
	Start    time.Time
	End      time.Time
	Bytes    int64
	Dir      string // the artifact's directory in the store, when it exists
	Err      error
}

// Duration is how long the instance took (0 when it did not run).
func (r InstanceResult) Duration() time.Duration {
	if r.Start.IsZero() || r.End.IsZero() {
		return 0
	}
	return r.End.Sub(r.Start)
}

// Result is the outcome of Execute.
type Result struct {
	RunID   string
	RunDir  string           // RunsDir/<id>, "" without RunsDir
	Results []InstanceResult // in plan order
	Summary Summary
}

// ErrRunFailed is wrapped by Execute's error when instances failed.
var ErrRunFailed = errors.New("run failed")

// NewRunID makes a run id: UTC time plus a random suffix, so ids sort by
// time (to the microsecond).
func NewRunID(t time.Time) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return t.UTC().Format("20060102T150405.000000Z") + "-" + hex.EncodeToString(b[:])
}

type executor struct {
	ctx    context.Context
	plan   *Plan
	opts   RunOptions
	log    *slog.Logger
	forced map[string]bool
	// external instances (with RunOptions.Only: the step's inputs) are
	// taken from the store, never built.
	external map[*Instance]bool
	results  []InstanceResult
	idx      map[*Instance]int

	mu       sync.Mutex // guards results[i], the manifest and dirty
	manifest *Manifest
	manPath  string
	dirty    bool // the manifest changed since it was last written
	runDir   string
}

// manifestEvery is how often a running run's manifest is rewritten (when
// it changed): often enough that a killed run leaves an almost current
// manifest, rarely enough to cost nothing per stage.
const manifestEvery = 200 * time.Millisecond

// Execute runs a plan: instances in topological order, independent ones in
// parallel on a pool of opts.Jobs workers. An instance whose key is in the
// store is reused ("cached"); any other runs into a temp dir that the store
// publishes atomically. A failed instance stops its descendants while
// independent branches go on. When ctx ends, running stages see it, no new
// ones start, and their temp dirs are removed.
//
// Execute returns the result of every instance, and an error wrapping
// ErrRunFailed when any failed (or ctx's error when it was cancelled).
func Execute(ctx context.Context, plan *Plan, opts RunOptions) (*Result, error) {
	if opts.Store == nil {
		return nil, errors.New("pipeline: Execute needs a Store")
	}
	if opts.Jobs <= 0 {
		opts.Jobs = runtime.NumCPU()
	}
	if opts.Only != "" && len(opts.Force) > 0 {
		return nil, errors.New("pipeline: Only and Force exclude each other")
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	e := &executor{ctx: ctx, plan: plan, opts: opts, log: log, idx: map[*Instance]int{}}
	if opts.Only != "" {
		target, err := plan.Find(opts.Only)
		if err != nil {
			return nil, err
		}
		// The plan of a step: its direct inputs (taken from the store) and
		// the instance itself.
		sub := *plan
		sub.Instances = nil
		seen := map[*Instance]bool{}
		for _, up := range target.Inputs {
			if !seen[up] {
				seen[up] = true
				sub.Instances = append(sub.Instances, up)
			}
		}
		e.external = seen
		sub.Instances = append(sub.Instances, target)
		e.plan, plan = &sub, &sub
	}
	e.results = make([]InstanceResult, len(plan.Instances))
	for i, in := range plan.Instances {
		e.idx[in] = i
		e.results[i] = InstanceResult{Instance: in, Status: StatusPending}
	}
	if err := e.force(); err != nil {
		return nil, err
	}
	// Hold every key of the plan before looking for any: a lair gc on
	// another machine then keeps them (or this run waits for it to end).
	keys := make([]string, len(plan.Instances))
	for i, in := range plan.Instances {
		keys[i] = in.Key
	}
	owner := "lair run " + plan.DAG.Path
	if opts.Only != "" {
		owner = "lair stage run " + plan.DAG.Path + " " + opts.Only
	}
	release, herr := opts.Store.Hold(ctx, keys, storage.HoldOptions{
		Owner: owner,
		OnWait: func(gc *storage.Lease) {
			log.Info("waiting for a lair gc on the store to end", "store", opts.Store.String(), "gc", gc.String())
		},
	})
	if herr != nil {
		return nil, herr
	}
	defer release()
	if err := e.readOnly(); err != nil {
		return nil, err
	}
	runID := opts.RunID
	if runID == "" {
		runID = NewRunID(time.Now())
	}
	res := &Result{RunID: runID}
	if opts.RunsDir != "" {
		if err := e.startRun(runID); err != nil {
			return nil, err
		}
		res.RunDir = e.runDir
	}
	stopFlush := e.flusher()
	e.schedule()
	stopFlush()
	res.Results = e.results
	for _, r := range e.results {
		switch r.Status {
		case StatusRan:
			res.Summary.Ran++
		case StatusCached:
			res.Summary.Cached++
		case StatusFailed:
			res.Summary.Failed++
		default:
			res.Summary.Skipped++
		}
	}
	status := "ok"
	var err error
	switch {
	case ctx.Err() != nil:
		status, err = "interrupted", fmt.Errorf("run interrupted: %w", ctx.Err())
	case res.Summary.Failed > 0:
		status, err = "failed", fmt.Errorf("%w: %d of %d stage instances failed", ErrRunFailed, res.Summary.Failed, len(e.results))
	case res.Summary.Skipped > 0:
		status, err = "failed", fmt.Errorf("%w: %d stage instances skipped", ErrRunFailed, res.Summary.Skipped)
	}
	if e.manifest != nil {
		e.mu.Lock()
		now := time.Now().UTC()
		e.manifest.Ended = &now
		e.manifest.Status = status
		e.manifest.Summary = res.Summary
		werr := e.writeManifest()
		e.mu.Unlock()
		if werr != nil && err == nil {
			err = werr
		}
	}
	return res, err
}

// force resolves RunOptions.Force to the set of instances to re-run.
func (e *executor) force() error {
	if len(e.opts.Force) == 0 {
		return nil
	}
	var roots []*Instance
	for _, f := range e.opts.Force {
		if ins := e.plan.StageInstances(f); len(ins) > 0 {
			roots = append(roots, ins...)
			continue
		}
		if in, ok := e.plan.Instance(f); ok {
			roots = append(roots, in)
			continue
		}
		names := e.plan.Stages()
		return fmt.Errorf("--force %s: no such stage in %s%s", f, e.plan.DAG.Path, suggest(f, names))
	}
	e.forced = e.plan.Descendants(roots)
	return nil
}

// readOnly refuses, before anything runs, a run on a read-only store
// that would have to build (or --force) any instance: such a run can only
// reuse artifacts.
func (e *executor) readOnly() error {
	roErr := e.opts.Store.Writable()
	if roErr == nil {
		return nil
	}
	var must []string
	total := 0
	for _, in := range e.plan.Instances {
		if e.external[in] {
			continue // taken from the store; missing ones fail by name
		}
		total++
		ok := false
		if !e.forced[in.Name] {
			var err error
			if ok, err = storage.Has(e.ctx, e.opts.Store, in.Key); err != nil {
				return fmt.Errorf("instance %s: %w", in.Name, err)
			}
		}
		if !ok {
			must = append(must, in.Name)
		}
	}
	if len(must) == 0 {
		return nil
	}
	list := strings.Join(must[:min(3, len(must))], ", ")
	if len(must) > 3 {
		list += ", …"
	}
	return fmt.Errorf("%d of %d stage instances would have to run (%s) but %w", len(must), total, list, roErr)
}

func (e *executor) startRun(runID string) error {
	e.runDir = filepath.Join(e.opts.RunsDir, runID)
	if err := os.MkdirAll(e.runDir, 0o755); err != nil {
		return fmt.Errorf("record run: %w", err)
	}
	host, _ := os.Hostname()
	gov := runtime.Version()
	lv := e.opts.LairVersion
	if lv == "" {
		lv = "devel"
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
			lv = bi.Main.Version
		}
	}
	storeDesc := e.opts.Store.String()
	absDAG, _ := filepath.Abs(e.plan.DAG.Path)
	m := &Manifest{
		RunID: runID, Status: "running",
		DAG:    ManifestDAG{Path: absDAG, Hash: e.plan.DAG.Hash, Name: e.plan.DAG.Name},
		Params: e.plan.Params, Store: storeDesc, Started: time.Now().UTC(),
		LairVersion: lv, GoVersion: gov, Host: host,
	}
	for _, in := range e.plan.Instances {
		mi := ManifestInstance{Name: in.Name, Stage: in.Stage, Type: in.Type.Name, Version: in.Type.Version,
			Params: in.Params, Matrix: in.Matrix, Key: in.Key, Status: StatusPending}
		for _, up := range in.Inputs {
			mi.Inputs = append(mi.Inputs, up.Name)
		}
		m.Instances = append(m.Instances, mi)
	}
	e.manifest = m
	e.manPath = filepath.Join(e.runDir, "manifest.json")
	if err := e.writeManifest(); err != nil {
		return fmt.Errorf("record run: %w", err)
	}
	// runs/latest -> <id>, replaced atomically.
	tmp := filepath.Join(e.opts.RunsDir, ".latest-"+runID)
	os.Remove(tmp)
	if err := os.Symlink(runID, tmp); err == nil {
		if err := os.Rename(tmp, filepath.Join(e.opts.RunsDir, "latest")); err != nil {
			os.Remove(tmp)
		}
	}
	return nil
}

// flusher rewrites the manifest every manifestEvery while it changes; the
// returned func stops it.
func (e *executor) flusher() func() {
	if e.manifest == nil {
		return func() {}
	}
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(manifestEvery)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				e.mu.Lock()
				if e.dirty {
					if err := e.writeManifest(); err != nil {
						e.log.Warn("cannot update run manifest", "err", err)
					}
				}
				e.mu.Unlock()
			}
		}
	}()
	return func() { close(stop); <-done }
}

// writeManifest writes the manifest; e.mu must be held.
func (e *executor) writeManifest() error {
	e.dirty = false
	err := writeJSONAtomic(e.manPath, e.manifest)
	if errors.Is(err, fs.ErrNotExist) {
		// Someone removed the run directory mid-run (e.g. rm -rf .lair):
		// recreate it rather than lose the record of the run.
		if os.MkdirAll(e.runDir, 0o755) == nil {
			err = writeJSONAtomic(e.manPath, e.manifest)
		}
	}
	if err != nil {
		return fmt.Errorf("write run manifest: %w", err)
	}
	return nil
}

// record stores an instance's result, links it into the run directory and
// marks the manifest for the flusher to write.
func (e *executor) record(i int, r InstanceResult) {
	if e.manifest != nil && r.Dir != "" {
		// The run directory is new, so the link cannot exist yet. Linking
		// outside the lock lets workers do it in parallel.
		link := filepath.Join(e.runDir, linkName(r.Instance.Name))
		err := os.Symlink(r.Dir, link)
		if errors.Is(err, fs.ErrNotExist) && os.MkdirAll(e.runDir, 0o755) == nil {
			err = os.Symlink(r.Dir, link) // the run directory was removed mid-run
		}
		if err != nil {
			e.log.Warn("cannot link artifact into run directory", "stage", r.Instance.Name, "err", err)
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.results[i] = r
	if e.manifest == nil {
		return
	}
	mi := &e.manifest.Instances[i]
	mi.Status = r.Status
	if !r.Start.IsZero() {
		s := r.Start.UTC()
		mi.Start = &s
	}
	if !r.End.IsZero() {
		t := r.End.UTC()
		mi.End = &t
		mi.DurationMS = r.End.Sub(r.Start).Milliseconds()
	}
	mi.Bytes = r.Bytes
	if r.Err != nil {
		mi.Error = r.Err.Error()
	}
	e.dirty = true
}

// markRunning records that an instance started.
func (e *executor) markRunning(i int, start time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.results[i].Status = StatusRunning
	e.results[i].Start = start
	if e.manifest != nil {
		s := start.UTC()
		e.manifest.Instances[i].Status = StatusRunning
		e.manifest.Instances[i].Start = &s
		e.dirty = true
	}
}

// schedule runs the instances in dependency order on a bounded pool.
func (e *executor) schedule() {
	n := len(e.plan.Instances)
	deps := make([]int, n)
	children := make([][]int, n)
	for i, in := range e.plan.Instances {
		seen := map[int]bool{}
		for _, up := range in.Inputs {
			j, ok := e.idx[up]
			if !ok {
				continue // outside a step's plan: not needed
			}
			if !seen[j] {
				seen[j] = true
				deps[i]++
				children[j] = append(children[j], i)
			}
		}
	}
	done := make(chan int, n)
	p := pool.New().WithMaxGoroutines(e.opts.Jobs)
	status := make([]string, n) // scheduler-owned view
	remaining := n
	submit := func(i int) {
		status[i] = StatusRunning
		p.Go(func() {
			r := e.runOne(i)
			e.record(i, r)
			done <- i
		})
	}
	var finish func(i int)
	skip := func(i int, why error) {
		status[i] = StatusSkipped
		r := InstanceResult{Instance: e.plan.Instances[i], Status: StatusSkipped, Err: why}
		e.record(i, r)
		if e.opts.OnDone != nil {
			e.opts.OnDone(r)
		}
		remaining--
		finish(i)
	}
	finish = func(i int) {
		for _, c := range children[i] {
			if status[c] != "" {
				continue
			}
			if status[i] == StatusFailed || status[i] == StatusSkipped {
				skip(c, fmt.Errorf("skipped: input %s %s", e.plan.Instances[i].Name, status[i]))
				continue
			}
			deps[c]--
			if deps[c] == 0 {
				if e.ctx.Err() != nil {
					skip(c, fmt.Errorf("skipped: %w", e.ctx.Err()))
				} else {
					submit(c)
				}
			}
		}
	}
	for i := range e.plan.Instances {
		if deps[i] == 0 && status[i] == "" {
			if e.ctx.Err() != nil {
				skip(i, fmt.Errorf("skipped: %w", e.ctx.Err()))
			} else {
				submit(i)
			}
		}
	}
	for remaining > 0 {
		i := <-done
		remaining--
		e.mu.Lock()
		r := e.results[i]
		e.mu.Unlock()
		status[i] = r.Status
		if e.opts.OnDone != nil {
			e.opts.OnDone(r)
		}
		finish(i)
	}
	p.Wait()
}

// runOne reuses or builds one instance.
func (e *executor) runOne(i int) InstanceResult {
	in := e.plan.Instances[i]
	st := e.opts.Store
	r := InstanceResult{Instance: in}
	fail := func(err error) InstanceResult {
		r.Status, r.Err = StatusFailed, err
		if r.Start.IsZero() && e.ctx.Err() != nil {
			// Cancelled before it started: not a failure of the stage.
			r.Status = StatusSkipped
		}
		if r.Start.IsZero() {
			r.Start = time.Now()
		}
		r.End = time.Now()
		return r
	}
	if e.external[in] {
		dir, err := st.Path(e.ctx, in.Key)
		if errors.Is(err, storage.ErrNotFound) {
			return fail(fmt.Errorf("input %s (key %s) is not in store %s: run that step first (in the workflow it is a dependency)", in.Name, in.Key, st))
		}
		if err != nil {
			return fail(fmt.Errorf("input %s: %w", in.Name, err))
		}
		r.Status, r.Dir = StatusCached, dir
		return r
	}
	forced := e.forced[in.Name]
	if !forced {
		if e.opts.Only != "" {
			// A step: a published key is enough, no need to fetch it.
			if ok, err := storage.Has(e.ctx, st, in.Key); err != nil {
				return fail(err)
			} else if ok {
				r.Status = StatusCached
				return r
			}
		} else {
			// Path is Has plus the path: one stat for a cached instance
			// in a local store.
			dir, err := st.Path(e.ctx, in.Key)
			if err == nil {
				r.Status, r.Dir = StatusCached, dir
				return r
			}
			if !errors.Is(err, storage.ErrNotFound) {
				return fail(err)
			}
		}
	}
	log := e.log.With("stage", in.Name)
	unlock, err := st.Lock(e.ctx, in.Key, storage.LockOptions{
		Owner: fmt.Sprintf("stage %s of %s", in.Name, e.plan.DAG.Path),
		OnWait: func(h storage.Holder) {
			log.Info("waiting for another run building the same artifact", "key", in.Key, "holder", h.String())
		},
	})
	if err != nil {
		return fail(err)
	}
	defer unlock()
	if !forced {
		// Another run may have built it while we waited for the lock.
		if dir, err := st.Path(e.ctx, in.Key); err == nil {
			r.Status, r.Dir = StatusCached, dir
			return r
		} else if !errors.Is(err, storage.ErrNotFound) {
			return fail(err)
		}
	}
	if err := e.ctx.Err(); err != nil {
		return fail(fmt.Errorf("interrupted: %w", err))
	}
	inputs := make([]Artifact, len(in.Inputs))
	for k, up := range in.Inputs {
		dir, err := st.Path(e.ctx, up.Key)
		if err != nil {
			return fail(fmt.Errorf("input %s: %w", up.Name, err))
		}
		inputs[k] = Artifact{Kind: up.Type.Output, Stage: up.Name, Matrix: up.Matrix, Key: up.Key, Dir: dir}
	}
	tmp, err := st.NewTemp(e.ctx, in.Key)
	if err != nil {
		return fail(err)
	}
	r.Start = time.Now()
	e.markRunning(i, r.Start)
	var prog Progress = NopProgress{}
	if e.opts.Progress != nil {
		p, end := e.opts.Progress(in.Name)
		if p != nil {
			prog = p
		}
		if end != nil {
			defer end()
		}
	}
	sc := &StageContext{Name: in.Name, Key: in.Key, Type: in.Type, Params: in.Params, Inputs: inputs,
		OutDir: tmp, Env: e.opts.Env, Log: log, Progress: prog}
	log.Debug("stage start", "key", in.Key)
	err = runStage(e.ctx, in.Type, sc)
	if err == nil && e.ctx.Err() != nil {
		err = fmt.Errorf("interrupted: %w", e.ctx.Err())
	}
	if err != nil {
		st.Discard(tmp)
		return fail(err)
	}
	publish := st.Publish
	if forced {
		publish = st.Replace
	}
	m, err := publish(e.ctx, in.Key, tmp)
	if err != nil {
		st.Discard(tmp)
		return fail(err)
	}
	r.Bytes = m.Size()
	r.End = time.Now()
	r.Status = StatusRan
	if e.opts.Only == "" {
		r.Dir, _ = st.Path(e.ctx, in.Key)
	}
	return r
}

// runStage calls the stage's Run, turning a panic into an error.
func runStage(ctx context.Context, t *StageType, sc *StageContext) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("stage %s panicked: %v\n%s", sc.Name, p, debug.Stack())
		}
	}()
	if t.Run == nil {
		return fmt.Errorf("stage type %s has no Run function", t.Name)
	}
	return t.Run(ctx, sc)
}
