// kubectl-globalquery is a kubectl plugin: `kubectl globalquery QUERY`.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/globalquery/kubectl-globalquery/pkg/cmd"
)

func main() {
	defer func() {
		// A bug must not greet an SRE with a stack dump; GLOBALQUERY_DEBUG=1 keeps it.
		if r := recover(); r != nil {
			if os.Getenv("GLOBALQUERY_DEBUG") == "1" {
				panic(r)
			}
			fmt.Fprintf(os.Stderr, "Error: internal error: %v\nThis is a bug in kubectl-globalquery; rerun with GLOBALQUERY_DEBUG=1 for details and report it.\n", r)
			os.Exit(1)
		}
	}()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	root := cmd.NewRootCommand(streams)
	err := root.ExecuteContext(ctx)
	interrupted := ctx.Err() != nil
	stop()
	if err != nil {
		if interrupted {
			fmt.Fprintln(os.Stderr, "Interrupted.")
			os.Exit(130)
		}
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(cmd.ExitCode(err))
	}
}
