package argo

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/lair-ir/lair/pipeline"
)

// ExportCommand implements `lair export argo`: args are the words after
// "argo". It loads DAG with reg and writes the manifest to stdout or -o.
func ExportCommand(ctx context.Context, args []string, reg *pipeline.Registry, stdout io.Writer) error {
	fs := flag.NewFlagSet("lair export argo", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var opts Options
	fs.StringVar(&opts.Store, "store", os.Getenv("LAIR_STORE"), "")
	fs.StringVar(&opts.Image, "image", DefaultImage, "")
	fs.StringVar(&opts.GPUImage, "gpu-image", "", "")
	fs.StringVar(&opts.Secret, "secret", DefaultSecret, "")
	fs.IntVar(&opts.Retries, "retries", DefaultRetries, "")
	fs.IntVar(&opts.Parallelism, "parallelism", 0, "")
	fs.StringVar(&opts.Namespace, "namespace", "", "")
	fs.StringVar(&opts.DAGPath, "dag-path", "", "")
	out := fs.String("o", "", "")
	var sets, gpus listFlag
	fs.Var(&sets, "set", "")
	fs.Var(&gpus, "gpu-stage", "")
	var pos []string
	rest := args
	for {
		if err := fs.Parse(rest); errors.Is(err, flag.ErrHelp) {
			_, err = io.WriteString(stdout, ExportUsage)
			return err
		} else if err != nil {
			return fmt.Errorf("export argo: %w\n%s", err, ExportUsage)
		}
		rest = fs.Args()
		if len(rest) == 0 {
			break
		}
		pos = append(pos, rest[0])
		rest = rest[1:]
	}
	if len(pos) != 1 {
		return fmt.Errorf("export argo: want one DAG file, got %d arguments\n%s", len(pos), ExportUsage)
	}
	if opts.Retries == 0 {
		opts.Retries = -1 // --retries 0 means none
	}
	set := map[string]string{}
	for _, s := range sets {
		k, v, ok := strings.Cut(s, "=")
		if !ok || k == "" {
			return fmt.Errorf("export argo: --set %q: want NAME=VALUE", s)
		}
		set[k] = v
	}
	opts.Set = set
	opts.GPUStages = gpus
	plan, err := pipeline.LoadFile(pos[0], reg, pipeline.LoadOptions{Set: set})
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := Export(&buf, plan, opts); err != nil {
		return err
	}
	if *out == "" {
		_, err = stdout.Write(buf.Bytes())
		return err
	}
	if err := os.WriteFile(*out, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("export argo: %w", err)
	}
	return nil
}

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }
