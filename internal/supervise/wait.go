package supervise

import (
	"context"
	"fmt"
	"net"
	"time"
)

// Watched is a process whose exit ends a wait at once: nothing it was to
// serve will come any more. Nil entries of a watch list are skipped.
type Watched interface {
	comparable
	Exited() bool
	// ExitErr says why the wait ended, in the words of the caller.
	ExitErr() error
}

// Poll calls fn every interval until it reports done, ctx ends, or one of
// watch exits. When ctx ends, the error names the last error fn returned;
// alwaysLast names it even if there was none, as "<nil>".
func Poll[W Watched](ctx context.Context, what string, watch []W, interval time.Duration, alwaysLast bool, fn func(context.Context) (bool, error)) error {
	var none W
	var last error
	for {
		for _, w := range watch {
			if w != none && w.Exited() {
				return fmt.Errorf("waiting for %s: %w", what, w.ExitErr())
			}
		}
		done, err := fn(ctx)
		if done && err == nil {
			return nil
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			if last != nil || alwaysLast {
				return fmt.Errorf("waiting for %s: %w (last error: %v)", what, ctx.Err(), last)
			}
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-time.After(interval):
		}
	}
}

// FreePorts reserves n distinct ports by binding them all before releasing
// any; something else may still take one before its process binds it.
func FreePorts(n int) ([]int, error) {
	ls := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	out := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	return out, nil
}
