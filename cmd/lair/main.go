package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/lair-ir/lair/internal/cli"
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
	return cli.Run(ctx, stdout, stderr, args, reg)
}
