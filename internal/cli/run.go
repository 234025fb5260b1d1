package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/lair-ir/lair/internal/progress"
	"github.com/lair-ir/lair/pipeline"
	"github.com/lair-ir/lair/storage"
	"github.com/lair-ir/lair/storage/stores"
)

const runSynopsis = `lair run DAG [--store DIR|URL] [--jobs N] [--force STAGE]... [--mirror DIR|URL] [--cache DIR]
                [--threads N] [--set NAME=VALUE]... [--quiet|--verbose]`

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// runFlags are the flags `lair run` and `lair stage run` share.
type runFlags struct {
	store, mirror, cache string
	threads              int
	sets                 multiFlag
	quiet, verbose       bool
}

func (f *runFlags) register(fs *flag.FlagSet, storeDefault, storeDoc string) {
	fs.StringVar(&f.store, "store", storeDefault, storeDoc)
	fs.StringVar(&f.mirror, "mirror", "", "dataset mirror directory or base URL (default $LAIR_MIRROR)")
	fs.StringVar(&f.cache, "cache", "", "download and embedding cache directory (default $LAIR_CACHE or the user cache dir/lair)")
	fs.IntVar(&f.threads, "threads", 0, "CPU threads a stage may use (default: number of CPUs)")
	fs.Var(&f.sets, "set", "override a DAG param: NAME=VALUE; repeatable")
	fs.BoolVar(&f.quiet, "quiet", false, "print only failures and the summary")
	fs.BoolVar(&f.verbose, "verbose", false, "print debug logs")
}

// openStore opens and checks the store named by storeURL (default: the
// store beside the DAG); an S3 store caches artifacts in cacheDir
// (default: .lair/s3cache beside the DAG).
func openStore(ctx context.Context, storeURL, lair, cacheDir string, exclusive bool, onWait func()) (storage.Store, error) {
	if storeURL == "" {
		storeURL = filepath.Join(lair, "store")
	}
	if cacheDir == "" {
		cacheDir = filepath.Join(lair, "s3cache")
	}
	st, err := stores.Open(ctx, storeURL, stores.Options{CacheDir: cacheDir, Exclusive: exclusive, OnWait: onWait})
	if err != nil {
		return nil, err
	}
	if err := st.Check(ctx); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// display is how a run shows itself: logger, progress and per-stage lines.
type display struct {
	logger    *slog.Logger
	disp      *progress.Display
	printLine func(string)
}

func newDisplay(s *sys, quiet, verbose bool) *display {
	tty := isTerminal(s.stderr)
	level := slog.LevelInfo
	switch {
	case verbose:
		level = slog.LevelDebug
	case quiet:
		level = slog.LevelWarn
	}
	d := &display{}
	logOut := s.stderr
	if !quiet && tty {
		width := 0
		if f, ok := s.stderr.(*os.File); ok {
			width, _, _ = term.GetSize(int(f.Fd()))
		}
		d.disp = progress.New(s.stderr, progress.Options{TTY: true, Width: width})
		logOut = d.disp // logs appear above the progress block
	}
	d.logger = slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: level}))
	if !quiet && !tty {
		// Not a terminal: progress becomes throttled log lines.
		d.disp = progress.New(s.stderr, progress.Options{Log: d.logger})
	}
	// Per-stage lines go to stdout; on a terminal they must not tear the
	// progress block, so they pass through the display.
	d.printLine = func(line string) { fmt.Fprintln(s.stdout, line) }
	if d.disp != nil && tty && isTerminal(s.stdout) {
		d.printLine = func(line string) { d.disp.Write([]byte(line + "\n")) }
	}
	return d
}

func (d *display) options(opts *pipeline.RunOptions) {
	opts.Logger = d.logger
	if d.disp != nil {
		opts.Progress = d.disp.Stage
	}
}

func (d *display) close() {
	if d.disp != nil {
		d.disp.Close()
	}
}

func cmdRun(ctx context.Context, s *sys, args []string) error {
	fs := newFlags("lair run", runSynopsis, s.stderr)
	var f runFlags
	f.register(fs, "", "artifact store: a directory or file:///dir (default .lair/store beside the DAG file) or s3://bucket/prefix (AWS_* environment variables)")
	jobs := fs.Int("jobs", 0, "stage instances to run at once (default: number of CPUs)")
	var force multiFlag
	fs.Var(&force, "force", "re-run this stage (all its instances) and its descendants; repeatable")
	pos, err := parseArgs(fs, args, 1, 1)
	if err != nil {
		return err
	}
	if f.quiet && f.verbose {
		return usagef("--quiet and --verbose exclude each other")
	}
	if *jobs < 0 {
		return usagef("--jobs %d: want 0 (one per CPU) or more", *jobs)
	}
	dagPath := pos[0]
	plan, err := loadPlan(dagPath, f.sets, s.reg)
	if err != nil {
		return err
	}
	for _, name := range force {
		if len(plan.StageInstances(name)) == 0 {
			if _, ok := plan.Instance(name); !ok {
				return usagef("--force %s: no such stage or instance in %s; its stages are: %s", name, dagPath, strings.Join(plan.Stages(), ", "))
			}
		}
	}
	env, err := envFromFlags(f.mirror, f.cache, f.threads)
	if err != nil {
		return err
	}
	// A directory opens the local store; s3://bucket/prefix opens the S3
	// store (checked before any stage runs) with a verified local cache.
	st, err := openStore(ctx, f.store, lairDir(dagPath), "", false, nil)
	if err != nil {
		return err
	}
	defer st.Close()

	d := newDisplay(s, f.quiet, f.verbose)
	opts := pipeline.RunOptions{
		Store: st, Jobs: *jobs, Force: force, Env: env,
		RunsDir: filepath.Join(lairDir(dagPath), "runs"), LairVersion: lairVersion(),
		OnDone: func(r pipeline.InstanceResult) {
			if f.quiet && r.Status != pipeline.StatusFailed {
				return
			}
			d.printLine(stageLine(r))
		},
	}
	d.options(&opts)
	start := time.Now()
	res, err := pipeline.Execute(ctx, plan, opts)
	d.close()
	if res == nil {
		return err
	}
	sum := res.Summary
	fmt.Fprintf(s.stdout, "%d stage instances: %d ran, %d cached, %d failed, %d skipped in %s\n",
		len(res.Results), sum.Ran, sum.Cached, sum.Failed, sum.Skipped, time.Since(start).Round(time.Millisecond))
	fmt.Fprintf(s.stdout, "run %s: %s\n", res.RunID, relPath(res.RunDir))
	printReports(s.stdout, res)
	if err != nil {
		for _, r := range res.Results {
			if r.Status == pipeline.StatusFailed {
				fmt.Fprintf(s.stderr, "lair: stage %s failed: %v\n", r.Instance.Name, withHint(r.Err))
			}
		}
		fmt.Fprintln(s.stderr, "lair:", err)
		return exitCode(exitFailed)
	}
	return nil
}

const stageRunSynopsis = `lair stage run DAG INSTANCE --store URL [--key KEY] [--set NAME=VALUE]... [--workdir DIR]
                      [--mirror DIR|URL] [--cache DIR] [--threads N] [--quiet|--verbose]

Runs one stage instance of DAG as 'lair run' runs it (same executor, run
record, logs and progress), restricted to that instance: its inputs are
taken from the store (never built; a missing one is an error naming it) and
an instance whose key is already published is not run again. INSTANCE is an
instance name as 'lair validate --plan' prints it, e.g.
'batches[strategy=hybrid]'. Prints one line: INSTANCE KEY ran|cached.`

func cmdStageRun(ctx context.Context, s *sys, args []string) error {
	fs := newFlags("lair stage run", stageRunSynopsis, s.stderr)
	var f runFlags
	f.register(fs, os.Getenv("LAIR_STORE"), "artifact store shared by the steps: s3://bucket/prefix (AWS_* environment variables) or a shared directory (default $LAIR_STORE)")
	key := fs.String("key", "", "the key the exporter planned; refuse to run if it differs")
	workdir := fs.String("workdir", "", "keep the S3 store's local cache (WORKDIR/cache) and the run record (WORKDIR/runs) here (default: a temporary directory removed at the end)")
	pos, err := parseArgs(fs, args, 2, 2)
	if err != nil {
		return err
	}
	if f.quiet && f.verbose {
		return usagef("--quiet and --verbose exclude each other")
	}
	if f.store == "" {
		return usagef("lair stage run: --store is required (or set LAIR_STORE)")
	}
	dagPath, name := pos[0], pos[1]
	plan, err := loadPlan(dagPath, f.sets, s.reg)
	if err != nil {
		return err
	}
	in, err := plan.Find(name)
	if err != nil {
		return usageError{err}
	}
	if *key != "" && *key != in.Key {
		return fmt.Errorf("instance %s: planned key here is %s but the workflow was exported with %s: the image holds another DAG file, other --set values or another lair version than the export; rebuild the image or export again", in.Name, in.Key, *key)
	}
	env, err := envFromFlags(f.mirror, f.cache, f.threads)
	if err != nil {
		return err
	}
	work := *workdir
	if work == "" {
		if work, err = os.MkdirTemp("", "lair-step-"); err != nil {
			return err
		}
		defer os.RemoveAll(work)
	}
	st, err := openStore(ctx, f.store, work, filepath.Join(work, "cache"), false, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	d := newDisplay(s, f.quiet, f.verbose)
	opts := pipeline.RunOptions{
		Store: st, Jobs: 1, Env: env, Only: in.Name,
		RunsDir: filepath.Join(work, "runs"), LairVersion: lairVersion(),
	}
	d.options(&opts)
	res, err := pipeline.Execute(ctx, plan, opts)
	d.close()
	if res == nil {
		return err
	}
	for _, r := range res.Results {
		switch {
		case r.Instance == in && r.Status == pipeline.StatusRan:
			fmt.Fprintf(s.stdout, "%s %s ran: %s, %d bytes published to %s\n", in.Name, in.Key, fmtDuration(r.Duration()), r.Bytes, st)
		case r.Instance == in && r.Status == pipeline.StatusCached:
			fmt.Fprintf(s.stdout, "%s %s cached\n", in.Name, in.Key)
		case r.Status == pipeline.StatusFailed:
			fmt.Fprintf(s.stderr, "lair: stage %s failed: %v\n", r.Instance.Name, withHint(r.Err))
		}
	}
	if err != nil {
		return exitCode(exitFailed)
	}
	return nil
}

// stageLine formats the line printed as an instance ends.
func stageLine(r pipeline.InstanceResult) string {
	d := ""
	if r.Status == pipeline.StatusRan || r.Status == pipeline.StatusFailed {
		d = fmtDuration(r.Duration())
	}
	line := fmt.Sprintf("%-7s %8s  %s", r.Status, d, r.Instance.Name)
	if r.Status == pipeline.StatusFailed && r.Err != nil {
		line += ": " + firstLine(r.Err.Error())
	}
	return line
}

func fmtDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	return d.Round(time.Second).String()
}

func firstLine(s string) string {
	for i, c := range s {
		if c == '\n' {
			return s[:i] + " …"
		}
	}
	return s
}

// printReports names the pages of every finished report artifact of the
// run, so the user knows what to open.
func printReports(w io.Writer, res *pipeline.Result) {
	for _, r := range res.Results {
		if r.Instance.Type.Output != pipeline.KindReport || (r.Status != pipeline.StatusRan && r.Status != pipeline.StatusCached) {
			continue
		}
		dir := filepath.Join(res.RunDir, r.Instance.Name) // names hold [ ]: no Glob
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".html") {
				fmt.Fprintf(w, "report: %s\n", relPath(filepath.Join(dir, e.Name())))
			}
		}
	}
}
