package e2e

import (
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// goroutines is what was running when a check began. Goroutines started later and still running
// at the check are leaks, except for the process-wide ones that libraries start once on first
// use and keep for the life of the process: they are not ours to stop.
type goroutines struct{ before goleak.Option }

func goroutinesNow() goroutines { return goroutines{before: goleak.IgnoreCurrent()} }

var notOurs = []goleak.Option{
	goleak.IgnoreAnyFunction("k8s.io/klog/v2.(*flushDaemon).run.func1"),
	goleak.IgnoreAnyFunction("k8s.io/apimachinery/pkg/util/wait.BackoffUntil"),
	goleak.IgnoreAnyFunction("go.opencensus.io/stats/view.(*worker).start"),
	// client-go keeps its transports, and their HTTP/2 connections to the API server, in a
	// process-wide cache keyed by the rest config: a second client of the same cluster reuses them.
	goleak.IgnoreAnyFunction("golang.org/x/net/http2.(*ClientConn).readLoop"),
}

// noneLeft fails the test naming every goroutine started since g that is still running. Each
// goleak.Find retries for a second or two; a loaded machine gets a few of those, so that a
// goroutine only finishing its Close is not counted.
func (g goroutines) noneLeft(t testing.TB, after string) {
	t.Helper()
	opts := append([]goleak.Option{g.before}, notOurs...)
	var err error
	for range 5 {
		if err = goleak.Find(opts...); err == nil {
			return
		}
	}
	t.Errorf("goroutines left %s:\n%v", after, err)
}

// fdsSettle waits until this process has at most limit open file descriptors, for connections
// closed just now to finish closing, and returns the count it saw last.
func fdsSettle(t testing.TB, limit int, within time.Duration) int {
	t.Helper()
	deadline := time.Now().Add(within)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		n := openFDs(t)
		if n <= limit || time.Now().After(deadline) {
			return n
		}
		<-tick.C
	}
}

// openFDs counts this process's open file descriptors: sockets to the API server and the
// stores, listeners, and files.
func openFDs(t testing.TB) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(ents)
}
