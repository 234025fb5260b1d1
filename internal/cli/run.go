package cli

import (
	"context"
	"errors"
	"fmt"
	"github.com/lair-ir/lair/storage/remote"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/lair-ir/lair/internal/progress"
	"github.com/lair-ir/lair/pipeline"
)

const runSynopsis = `lair run DAG [--store DIR] [--jobs N] [--force STAGE]... [--mirror DIR|URL] [--cache DIR]
                [--threads N] [--set NAME=VALUE]... [--quiet|--verbose]`

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func cmdRun(ctx context.Context, stdout, stderr io.Writer, args []string, reg *pipeline.Registry) int {
	fs := newFlags("lair run", runSynopsis, stderr)
	storeDir := fs.String("store", "", "artifact store: a directory (default .lair/store beside the DAG file) or s3://bucket/prefix (AWS_* environment variables)")
	jobs := fs.Int("jobs", 0, "stage instances to run at once (default: number of CPUs)")
	var force, sets multiFlag
	fs.Var(&force, "force", "re-run this stage (all its instances) and its descendants; repeatable")
	mirror := fs.String("mirror", "", "dataset mirror directory or base URL (default $LAIR_MIRROR)")
	cache := fs.String("cache", "", "download and embedding cache directory (default $LAIR_CACHE or the user cache dir/lair)")
	threads := fs.Int("threads", 0, "CPU threads a stage may use (default: number of CPUs)")
	fs.Var(&sets, "set", "override a DAG param: NAME=VALUE; repeatable")
	quiet := fs.Bool("quiet", false, "print only failures and the summary")
	verbose := fs.Bool("verbose", false, "print debug logs")
	pos, err := parseArgs(fs, args, 1, 1)
	if err != nil {
		return report(stderr, err)
	}
	if *quiet && *verbose {
		return report(stderr, usagef("--quiet and --verbose exclude each other"))
	}
	set, err := setFlags(sets)
	if err != nil {
		return report(stderr, err)
	}
	dagPath := pos[0]
	plan, err := pipeline.LoadFile(dagPath, reg, pipeline.LoadOptions{Set: set})
	if err != nil {
		var el pipeline.ErrorList
		if !errors.As(err, &el) {
			err = usageError{err}
		}
		return report(stderr, err)
	}
	for _, f := range force {
		if len(plan.StageInstances(f)) == 0 {
			if _, ok := plan.Instance(f); !ok {
				return report(stderr, usagef("--force %s: no such stage or instance in %s; its stages are: %s", f, dagPath, strings.Join(plan.Stages(), ", ")))
			}
		}
	}
	env, err := envFromFlags(*mirror, *cache, *threads)
	if err != nil {
		return report(stderr, err)
	}
	if *storeDir == "" {
		*storeDir = filepath.Join(lairDir(dagPath), "store")
	}
	// A directory opens the local store; s3://bucket/prefix opens the S3
	// store (checked before any stage runs) with a verified local cache.
	st, err := remote.OpenPipelineStore(ctx, *storeDir, filepath.Join(lairDir(dagPath), "s3cache"))
	if err != nil {
		return report(stderr, err)
	}
	defer st.Close()

	tty := isTerminal(stderr)
	level := slog.LevelInfo
	switch {
	case *verbose:
		level = slog.LevelDebug
	case *quiet:
		level = slog.LevelWarn
	}
	var disp *progress.Display
	logOut := stderr
	if !*quiet && tty {
		width := 0
		if f, ok := stderr.(*os.File); ok {
			width, _, _ = term.GetSize(int(f.Fd()))
		}
		disp = progress.New(stderr, progress.Options{TTY: true, Width: width})
		logOut = disp // logs appear above the progress block
	}
	logger := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: level}))
	if !*quiet && !tty {
		// Not a terminal: progress becomes throttled log lines.
		disp = progress.New(stderr, progress.Options{Log: logger})
	}
	// Per-stage lines go to stdout; on a terminal they must not tear the
	// progress block, so they pass through the display.
	printLine := func(s string) { fmt.Fprintln(stdout, s) }
	if disp != nil && tty && isTerminal(stdout) {
		printLine = func(s string) { disp.Write([]byte(s + "\n")) }
	}
	opts := pipeline.RunOptions{
		Store: st, Jobs: *jobs, Force: force, Env: env, Logger: logger,
		RunsDir: filepath.Join(lairDir(dagPath), "runs"), LairVersion: lairVersion(),
		OnDone: func(r pipeline.InstanceResult) {
			if *quiet && r.Status != pipeline.StatusFailed {
				return
			}
			printLine(stageLine(r))
		},
	}
	if disp != nil {
		opts.Progress = disp.Stage
	}
	start := time.Now()
	res, err := pipeline.Execute(ctx, plan, opts)
	if disp != nil {
		disp.Close()
	}
	if res == nil {
		return report(stderr, err)
	}
	s := res.Summary
	fmt.Fprintf(stdout, "%d stage instances: %d ran, %d cached, %d failed, %d skipped in %s\n",
		len(res.Results), s.Ran, s.Cached, s.Failed, s.Skipped, time.Since(start).Round(time.Millisecond))
	fmt.Fprintf(stdout, "run %s: %s\n", res.RunID, relPath(res.RunDir))
	printReports(stdout, res)
	if err != nil {
		for _, r := range res.Results {
			if r.Status == pipeline.StatusFailed {
				fmt.Fprintf(stderr, "lair: stage %s failed: %v\n", r.Instance.Name, r.Err)
			}
		}
		fmt.Fprintln(stderr, "lair:", err)
		return exitFailed
	}
	return exitOK
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
