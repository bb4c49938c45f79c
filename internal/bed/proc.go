package bed

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/globalquery/kubectl-globalquery/internal/supervise"
)

// Proc identifies one process of a bed. StartTicks (field 22 of
// /proc/PID/stat) guards against signalling an unrelated process that was
// given a recycled PID after the bed's process died.
type Proc struct {
	Name       string `json:"name"`
	PID        int    `json:"pid"`
	StartTicks uint64 `json:"startTicks,omitempty"`
}

const pidsFile = "pids"

// child is a process started by this process; its early exit is described
// with the tail of its log, which is nearly always where the reason is.
type child struct {
	*supervise.Child
}

func (c *child) ExitErr() error {
	return fmt.Errorf("%s exited early (%v); last log lines of %s:\n%s", c.Name, c.Err(), c.Log, supervise.Tail(c.Log, 15))
}

func (c *child) proc() Proc {
	return Proc{Name: c.Name, PID: c.PID, StartTicks: c.StartTicks}
}

type procs struct {
	dir    string
	detach bool

	mu       sync.Mutex
	children []*child
}

// start runs bin with args, logging to <dir>/logs/<name>.log, and records its
// PID in <dir>/pids before returning so that a failed Up can still be cleaned.
func (ps *procs) start(name, bin string, args ...string) (*child, error) {
	var attr *syscall.SysProcAttr
	if ps.detach {
		attr = &syscall.SysProcAttr{Setsid: true}
	} else {
		// Tie the process to the caller so that a killed test binary does not
		// leave a bed behind.
		attr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	}
	sc, err := supervise.Start(ps.dir, name, nil, attr, bin, args...)
	if err != nil {
		return nil, err
	}
	c := &child{sc}
	ps.mu.Lock()
	ps.children = append(ps.children, c)
	err = appendPID(ps.dir, c.proc())
	ps.mu.Unlock()
	if err != nil {
		return c, err
	}
	return c, nil
}

func (ps *procs) list() []Proc {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	out := make([]Proc, len(ps.children))
	for i, c := range ps.children {
		out[i] = c.proc()
	}
	return out
}

func appendPID(dir string, p Proc) error {
	f, err := os.OpenFile(filepath.Join(dir, pidsFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(f, "%d %d %s\n", p.PID, p.StartTicks, p.Name)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func readPIDs(dir string) ([]Proc, error) {
	b, err := os.ReadFile(filepath.Join(dir, pidsFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Proc
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		pid, err := strconv.Atoi(f[0])
		if err != nil {
			continue
		}
		st, _ := strconv.ParseUint(f[1], 10, 64)
		p := Proc{PID: pid, StartTicks: st}
		if len(f) > 2 {
			p.Name = f[2]
		}
		out = append(out, p)
	}
	return out, sc.Err()
}

// alive reports whether p still runs. A zombie counts as dead: it has
// exited and only waits for its parent to collect it.
func alive(p Proc) bool {
	if p.PID <= 0 {
		return false
	}
	state, st, err := supervise.Stat(p.PID)
	if err != nil {
		return false
	}
	if state == 'Z' || state == 'X' {
		return false
	}
	return p.StartTicks == 0 || st == p.StartTicks
}

// stopOrder puts the API server after its clients and etcd after the API
// server: stopped together, the API server hangs in its graceful shutdown
// on a vanished etcd and etcd waits on the API server's connections.
func stopOrder(name string) int {
	switch name {
	case "kube-apiserver":
		return 1
	case "etcd":
		return 2
	}
	return 0
}

// stop stops the processes in stopOrder phases; in each, it sends SIGTERM,
// waits up to grace for them to exit, then SIGKILLs what is left.
func stop(list []Proc, grace time.Duration) error {
	var errs []error
	for phase := 0; phase <= 2; phase++ {
		var group []Proc
		for _, p := range list {
			if stopOrder(p.Name) == phase {
				group = append(group, p)
			}
		}
		if err := stopGroup(group, grace); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func stopGroup(list []Proc, grace time.Duration) error {
	var live []Proc
	for _, p := range list {
		if alive(p) {
			if err := syscall.Kill(p.PID, syscall.SIGTERM); err == nil {
				live = append(live, p)
			}
		}
	}
	waitGone := func(d time.Duration) []Proc {
		deadline := time.Now().Add(d)
		for {
			var left []Proc
			for _, p := range live {
				if alive(p) {
					left = append(left, p)
				}
			}
			if len(left) == 0 || time.Now().After(deadline) {
				return left
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	left := waitGone(grace)
	if len(left) == 0 {
		return nil
	}
	for _, p := range left {
		_ = syscall.Kill(p.PID, syscall.SIGKILL)
	}
	live = left
	if left = waitGone(5 * time.Second); len(left) > 0 {
		var names []string
		for _, p := range left {
			names = append(names, fmt.Sprintf("%s(%d)", p.Name, p.PID))
		}
		return fmt.Errorf("still running after SIGKILL: %s", strings.Join(names, ", "))
	}
	return nil
}
