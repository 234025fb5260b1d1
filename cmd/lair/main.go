// Command lair runs lair's declarative retrieval DAGs.
//
// See `lair help` and docs/readme/pipeline.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/lair-ir/lair/pipeline"
	"github.com/lair-ir/lair/stages"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// The first Ctrl-C stops the run cleanly; a second one kills.
		<-ctx.Done()
		stop()
	}()
	reg := pipeline.NewRegistry()
	stages.Register(reg)
	code := run(ctx, os.Stdout, os.Stderr, os.Args[1:], reg)
	stop()
	os.Exit(code)
}
