package cluster

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/lair-ir/lair/pipeline"
	"github.com/lair-ir/lair/storage/stores"
)

// StageRunUsage is the help text of `lair stage run`.
const StageRunUsage = `usage: lair stage run DAG INSTANCE --store URL [--key KEY] [--set NAME=VALUE]... [--workdir DIR]

Runs one stage instance of DAG alone: fetches its inputs from the store,
runs it and publishes its output. An instance whose key is already in the
store is not run again. INSTANCE is an instance name as 'lair plan' prints
it, e.g. 'batches[strategy=hybrid]'.

  --store URL     s3://bucket/prefix (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
                  AWS_REGION, AWS_ENDPOINT_URL[_S3]) or a shared directory;
                  default $LAIR_STORE
  --key KEY       the key the exporter planned; refuse to run if it differs
  --set N=V       override a DAG parameter (as for 'lair run'); repeatable
  --workdir DIR   keep fetched inputs here (default: a temporary directory)
`

// StageRunCommand implements `lair stage run`: args are the words after
// "run". It loads DAG with reg, opens and checks the store, runs the
// instance with RunStep and prints StepResult's line on stdout.
func StageRunCommand(ctx context.Context, args []string, reg *pipeline.Registry, env pipeline.Env, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("lair stage run", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	storeURL := fs.String("store", os.Getenv("LAIR_STORE"), "")
	key := fs.String("key", "", "")
	workdir := fs.String("workdir", "", "")
	var sets setFlag
	fs.Var(&sets, "set", "")
	pos, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		_, err = io.WriteString(stdout, StageRunUsage)
		return err
	}
	if err != nil {
		return fmt.Errorf("stage run: %w\n%s", err, StageRunUsage)
	}
	if len(pos) != 2 {
		return fmt.Errorf("stage run: want DAG and INSTANCE, got %d arguments\n%s", len(pos), StageRunUsage)
	}
	if *storeURL == "" {
		return fmt.Errorf("stage run: --store is required (or set LAIR_STORE)\n%s", StageRunUsage)
	}
	plan, err := pipeline.LoadFile(pos[0], reg, pipeline.LoadOptions{Set: sets.m})
	if err != nil {
		return err
	}
	st, err := stores.Open(*storeURL)
	if err != nil {
		return err
	}
	res, err := RunStep(ctx, plan, pos[1], st, StepOptions{
		WorkDir:   *workdir,
		ExpectKey: *key,
		Env:       env,
		Log:       slog.New(slog.NewTextHandler(stderr, nil)),
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, res)
	return nil
}

// parseInterspersed parses flags that may come before, between or after
// positional arguments, and returns the positional ones.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// setFlag collects repeated --set NAME=VALUE.
type setFlag struct{ m map[string]string }

func (s *setFlag) String() string { return "" }

func (s *setFlag) Set(v string) error {
	name, val, ok := strings.Cut(v, "=")
	if !ok || name == "" {
		return fmt.Errorf("--set %q: want NAME=VALUE", v)
	}
	if s.m == nil {
		s.m = map[string]string{}
	}
	s.m[name] = val
	return nil
}
