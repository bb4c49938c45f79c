package cmd

import (
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/term"

	"github.com/globalquery/kubectl-globalquery/pkg/connect"
)

// progress tells a person at a terminal what is happening while stores are found and tunnels
// open; it says nothing when stderr is not a terminal or with -q, so scripts see only results
// and errors.
type progress struct {
	w       io.Writer
	on      bool
	started time.Time
}

func newProgress(w io.Writer, quiet bool) *progress {
	p := &progress{w: w, started: time.Now()}
	if f, ok := w.(*os.File); ok && !quiet {
		p.on = term.IsTerminal(int(f.Fd()))
	}
	return p
}

// line overwrites the current status line.
func (p *progress) line(format string, args ...any) {
	if p.on {
		fmt.Fprintf(p.w, "\r\033[K"+format, args...)
	}
}

// Discovered is stores.Progress's.
func (p *progress) Discovered(pods, clusters int) {
	where := ""
	if clusters > 1 {
		where = fmt.Sprintf(" in %d contexts", clusters)
	}
	p.line("Found %d store pods%s; opening tunnels…", pods, where)
}

// Connected ends the status line with a summary and names stores that were slow to answer.
func (p *progress) Connected(set *connect.Set) {
	if !p.on {
		return
	}
	p.line("%d stores ready, %d failed (%s)\n", len(set.Stores), len(set.Failures), time.Since(p.started).Round(time.Millisecond))
	var slowest connect.StoreInfo
	for _, s := range set.Stores {
		if s.RTT > slowest.RTT {
			slowest = s
		}
	}
	if slowest.Store != nil && slowest.RTT > time.Second {
		fmt.Fprintf(p.w, "Slowest store: %s (%s to answer Info)\n", slowest.Store.Name, slowest.RTT.Round(time.Millisecond))
	}
}
