package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/lair-ir/lair/cluster"
	"github.com/lair-ir/lair/cluster/argo"
	"github.com/lair-ir/lair/encoder/modelgen"
	"github.com/lair-ir/lair/internal/cli"
	"github.com/lair-ir/lair/internal/doctor"
	"github.com/lair-ir/lair/pipeline"
	"github.com/lair-ir/lair/stages"
)

// version is set with -ldflags "-X main.version=...".
var version = ""

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// The first Ctrl-C stops the run cleanly; a second one kills.
		<-ctx.Done()
		stop()
	}()
	code := run(ctx, os.Stdout, os.Stderr, os.Args[1:])
	stop()
	os.Exit(code)
}

// run runs one lair command with lair's stage types and returns the exit
// code.
func run(ctx context.Context, stdout, stderr io.Writer, args []string) int {
	reg := pipeline.NewRegistry()
	stages.Register(reg)
	cli.Version = version
	return cli.Run(ctx, stdout, stderr, args, reg, extraCommands()...)
}

// extraCommands wires the cluster commands into the CLI.
func extraCommands() []cli.Extra {
	return []cli.Extra{
		{
			Name:     "stage",
			Synopsis: "stage run      run one stage instance against a shared store (cluster step)",
			Run: func(ctx context.Context, stdout, stderr io.Writer, args []string, reg *pipeline.Registry, env pipeline.Env) error {
				if len(args) == 0 || args[0] != "run" {
					return cli.Usagef("usage: lair stage run DAG INSTANCE --store URL")
				}
				return cluster.StageRunCommand(ctx, args[1:], reg, env, stdout, stderr)
			},
		},
		{
			Name:     "export",
			Synopsis: "export argo    write an Argo Workflows manifest for a DAG",
			Run: func(ctx context.Context, stdout, stderr io.Writer, args []string, reg *pipeline.Registry, env pipeline.Env) error {
				if len(args) == 0 || args[0] != "argo" {
					return cli.Usagef("usage: lair export argo DAG --store URL (see lair export argo -h)")
				}
				return argo.ExportCommand(ctx, args[1:], reg, stdout)
			},
		},
		{
			Name:     "doctor",
			Synopsis: "doctor [DAG]   what this machine offers (ONNX Runtime, GoMLX backends, PJRT plugins, GPUs); check a DAG's devices",
			Run: func(ctx context.Context, stdout, stderr io.Writer, args []string, reg *pipeline.Registry, env pipeline.Env) error {
				load := func(path string, set map[string]string) (*pipeline.Plan, error) {
					return pipeline.LoadFile(path, reg, pipeline.LoadOptions{Set: set})
				}
				return doctor.Main(ctx, args, stdout, reg, env, cli.Version, load, cli.Usagef)
			},
		},
		{
			Name:     "model",
			Synopsis: "model new      write a random-weight encoder (bert, xlmr, static) in Hugging Face layout",
			Run: func(ctx context.Context, stdout, stderr io.Writer, args []string, reg *pipeline.Registry, env pipeline.Env) error {
				if len(args) < 2 || args[0] != "new" {
					return cli.Usagef("usage: lair model new [flags] DIR (see lair model new -h)")
				}
				return modelgen.Main(ctx, args[1:], stdout, stderr)
			},
		},
	}
}
