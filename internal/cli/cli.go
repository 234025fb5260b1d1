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

const usage = `usage: lair COMMAND [ARGS]

Commands:
  run DAG        run a DAG, reusing cached stages
  validate DAG   check a DAG file without running it
  stages [TYPE]  list stage types, or describe one
  graph DAG      print the planned graph (mermaid or dot)
  runs [ID]      list recorded runs, or show one
  show FILE      show a Parquet or Arrow IPC file
  gc             delete store entries no recorded run references
  version        print lair's version

Run 'lair COMMAND -h' for a command's flags.
Exit codes: 0 ok, 1 run failed, 2 bad input (usage, validation).
`

// usageError marks errors that exit with code 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// Usagef makes an error that exits with code 2 (bad input).
func Usagef(format string, args ...any) error { return usagef(format, args...) }

// Extra is a command whose implementation lives outside this package
// (cmd/lair wires `lair stage run` and `lair export argo` from package
// cluster), so that the CLI and its tests do not depend on it.
type Extra struct {
	Name     string // the first word, e.g. "stage"
	Synopsis string // one line for `lair help`
	Run      func(ctx context.Context, stdout, stderr io.Writer, args []string, reg *pipeline.Registry, env pipeline.Env) error
}

// Run is lair's main: it runs one command with the stage types of reg and
// returns the exit code (0 ok, 1 failed, 2 bad input).
func Run(ctx context.Context, stdout, stderr io.Writer, args []string, reg *pipeline.Registry, extra ...Extra) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usageText(extra))
		return exitUsage
	}
	cmd, rest := args[0], args[1:]
	var err error
	switch cmd {
	case "run":
		return cmdRun(ctx, stdout, stderr, rest, reg)
	case "validate":
		err = cmdValidate(stdout, rest, reg)
	case "stages":
		err = cmdStages(stdout, rest, reg)
	case "graph":
		err = cmdGraph(stdout, rest, reg)
	case "runs":
		err = cmdRuns(stdout, rest)
	case "show":
		err = cmdShow(ctx, stdout, rest)
	case "gc":
		err = cmdGC(ctx, stdout, rest)
	case "version":
		fmt.Fprintf(stdout, "lair %s %s %s/%s\n", lairVersion(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usageText(extra))
	default:
		for _, x := range extra {
			if x.Name == cmd {
				env, eerr := envFromFlags("", "", 0)
				if eerr != nil {
					return report(stderr, eerr)
				}
				return report(stderr, x.Run(ctx, stdout, stderr, rest, reg, env))
			}
		}
		fmt.Fprintf(stderr, "lair: unknown command %q\n\n%s", cmd, usageText(extra))
		return exitUsage
	}
	return report(stderr, err)
}

func usageText(extra []Extra) string {
	var b strings.Builder
	for _, x := range extra {
		fmt.Fprintf(&b, "  %s\n", x.Synopsis)
	}
	return strings.Replace(usage, "  version        print lair's version\n", b.String()+"  version        print lair's version\n", 1)
}

// report prints err and maps it to an exit code.
func report(stderr io.Writer, err error) int {
	if err == nil {
		return exitOK
	}
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	var el pipeline.ErrorList
	if errors.As(err, &el) {
		fmt.Fprintln(stderr, el.Error())
		fmt.Fprintf(stderr, "lair: %d error(s)\n", len(el))
		return exitUsage
	}
	fmt.Fprintln(stderr, "lair:", err)
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
// $LAIR_CACHE and the user cache directory.
func envFromFlags(mirror, cache string, threads int) (pipeline.Env, error) {
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
	return pipeline.Env{Mirror: mirror, CacheDir: cache, Threads: threads}, nil
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
