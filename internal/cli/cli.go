package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"text/tabwriter"

	"github.com/lair-ir/lair/internal/cachedir"
	"github.com/lair-ir/lair/pipeline"
)

// Version is lair's version; cmd/lair may set it (from -ldflags). When
// empty it comes from the module's build info.
var Version = ""

func lairVersion() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

// Exit codes.
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2
)

// usageError marks errors that exit with code 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// exitCode is returned by commands that have printed their own failure.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit code %d", int(e)) }

// sys is what every command gets: its output streams and the stage types.
type sys struct {
	stdout, stderr io.Writer
	reg            *pipeline.Registry
}

// command is one entry of the command table.
type command struct {
	name     string // one word, or two for a group ("stage run")
	args     string // the arguments after the name, for the usage line
	synopsis string // one line for `lair help`
	run      func(ctx context.Context, s *sys, args []string) error
}

// commands is lair's command table: `lair help` lists it, Run dispatches
// on it.
var commands = []command{
	{"run", "DAG", "run a DAG, reusing cached stages", cmdRun},
	{"validate", "DAG", "check a DAG file without running it", cmdValidate},
	{"stages", "[TYPE]", "list stage types, or describe one", cmdStages},
	{"graph", "DAG", "print the planned graph (mermaid or dot)", cmdGraph},
	{"runs", "[ID]", "list recorded runs, or show one", cmdRuns},
	{"show", "FILE", "show a Parquet or Arrow IPC file", cmdShow},
	{"gc", "", "delete store entries no recorded run references", cmdGC},
	{"verify", "", "recompute every store checksum; quarantine damaged entries", cmdVerify},
	{"stage run", "DAG INSTANCE", "run one stage instance against a shared store (a cluster step)", cmdStageRun},
	{"export argo", "DAG", "write an Argo Workflows manifest for a DAG", cmdExportArgo},
	{"export beir", "TABLES DIR", "write a dataset artifact as a BEIR folder (corpus.jsonl, queries.jsonl, qrels/)", cmdExportBEIR},
	{"doctor", "[DAG]", "what this machine offers (ONNX Runtime, GoMLX backends, PJRT plugins, GPUs); check a DAG's devices", cmdDoctor},
	{"model new", "DIR", "write a random-weight encoder (bert, xlmr, distilbert, static) in Hugging Face layout", cmdModelNew},
	{"version", "", "print lair's version", cmdVersion},
}

func usageText() string {
	var b strings.Builder
	b.WriteString("usage: lair COMMAND [ARGS]\n\nCommands:\n")
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	for _, c := range commands {
		fmt.Fprintf(tw, "  %s\t%s\n", strings.TrimSpace(c.name+" "+c.args), c.synopsis)
	}
	tw.Flush()
	b.WriteString("\nRun 'lair COMMAND -h' for a command's flags.\nExit codes: 0 ok, 1 run failed, 2 bad input (usage, validation).\n")
	return b.String()
}

// lookup finds the command named by the first one or two words of args and
// returns it with the remaining arguments.
func lookup(args []string) (*command, []string, error) {
	var sub []string
	for i := range commands {
		c := &commands[i]
		group, name, two := strings.Cut(c.name, " ")
		if !two {
			if c.name == args[0] {
				return c, args[1:], nil
			}
			continue
		}
		if group != args[0] {
			continue
		}
		sub = append(sub, name)
		if len(args) > 1 && args[1] == name {
			return c, args[2:], nil
		}
	}
	if len(sub) > 0 {
		got := ""
		if len(args) > 1 {
			got = fmt.Sprintf(" %q", args[1])
		}
		return nil, nil, usagef("lair %s: unknown or missing subcommand%s; want: %s", args[0], got, strings.Join(sub, ", "))
	}
	return nil, nil, usagef("unknown command %q\n\n%s", args[0], usageText())
}

// Run is lair's main: it runs one command with the stage types of reg and
// returns the exit code (0 ok, 1 failed, 2 bad input).
func Run(ctx context.Context, stdout, stderr io.Writer, args []string, reg *pipeline.Registry) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usageText())
		return exitUsage
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usageText())
		return exitOK
	}
	c, rest, err := lookup(args)
	if err != nil {
		return report(stderr, err)
	}
	return report(stderr, c.run(ctx, &sys{stdout: stdout, stderr: stderr, reg: reg}, rest))
}

func cmdVersion(ctx context.Context, s *sys, args []string) error {
	fs := newFlags("lair version", "lair version", s.stdout)
	if _, err := parseArgs(fs, args, 0, 0); err != nil {
		return err
	}
	fmt.Fprintf(s.stdout, "lair %s %s %s/%s\n", lairVersion(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}

// report prints err and maps it to an exit code.
func report(stderr io.Writer, err error) int {
	if err == nil {
		return exitOK
	}
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	var code exitCode
	if errors.As(err, &code) {
		return int(code)
	}
	var el pipeline.ErrorList
	if errors.As(err, &el) {
		fmt.Fprintln(stderr, el.Error())
		fmt.Fprintf(stderr, "lair: %d error(s)\n", len(el))
		return exitUsage
	}
	fmt.Fprintln(stderr, "lair:", withHint(err))
	var ue usageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	return exitFailed
}

// multiFlag collects a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

// setFlags parses --set name=value flags.
func setFlags(sets []string) (map[string]string, error) {
	if len(sets) == 0 {
		return nil, nil
	}
	out := map[string]string{}
	for _, s := range sets {
		k, v, ok := strings.Cut(s, "=")
		if !ok || k == "" {
			return nil, usagef("--set %q: want NAME=VALUE", s)
		}
		out[k] = v
	}
	return out, nil
}

// newFlags makes a FlagSet whose help goes to w.
func newFlags(name, synopsis string, w io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(w)
	fs.Usage = func() {
		fmt.Fprintf(w, "usage: %s\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseArgs parses flags that may come before or after positional
// arguments, and checks the number of positional arguments.
func parseArgs(fs *flag.FlagSet, args []string, minPos, maxPos int) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err}
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	if len(pos) < minPos || len(pos) > maxPos {
		fs.Usage()
		if minPos == maxPos {
			return nil, usagef("%s: want %d argument(s), got %d", fs.Name(), minPos, len(pos))
		}
		return nil, usagef("%s: want %d to %d arguments, got %d", fs.Name(), minPos, maxPos, len(pos))
	}
	return pos, nil
}

// lairDir is the .lair directory beside a DAG file.
func lairDir(dagPath string) string {
	return filepath.Join(filepath.Dir(dagPath), ".lair")
}

// envFromFlags builds the run environment: flags first, then $LAIR_MIRROR,
// $LAIR_CACHE and the user cache directory, $GOMLX_BACKEND.
func envFromFlags(mirror, cache string, threads int) (pipeline.Env, error) {
	if threads < 0 {
		return pipeline.Env{}, usagef("--threads %d: want 0 (one per CPU) or more", threads)
	}
	if mirror == "" {
		mirror = os.Getenv("LAIR_MIRROR")
	}
	cache, err := cachedir.Dir(cache)
	if err != nil {
		return pipeline.Env{}, err
	}
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	return pipeline.Env{Mirror: mirror, CacheDir: cache, Threads: threads, Backend: os.Getenv("GOMLX_BACKEND")}, nil
}

// relPath shows p relative to the working directory when that is shorter.
func relPath(p string) string {
	wd, err := os.Getwd()
	if err != nil {
		return p
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	if r, err := filepath.Rel(wd, abs); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return abs
}
