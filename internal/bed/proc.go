package bed

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
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

// child is a process started by this process: the Wait goroutine reaps it so
// that a dead child does not linger as a zombie that still looks alive.
type child struct {
	Proc
	log  string
	done chan struct{}
	err  error
}

func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// exitErr describes an early exit with the tail of the process's log, which
// is nearly always where the reason is.
func (c *child) exitErr() error {
	return fmt.Errorf("%s exited early (%v); last log lines of %s:\n%s", c.Name, c.err, c.log, tail(c.log, 15))
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
	logPath := filepath.Join(ps.dir, "logs", name+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = ps.dir
	cmd.Stdout = f
	cmd.Stderr = f
	if ps.detach {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	} else {
		// Tie the process to the caller so that a killed test binary does not
		// leave a bed behind.
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	c := &child{Proc: Proc{Name: name, PID: cmd.Process.Pid}, log: logPath, done: make(chan struct{})}
	c.StartTicks, _ = startTicks(c.PID)
	go func() {
		c.err = cmd.Wait()
		f.Close()
		close(c.done)
	}()
	ps.mu.Lock()
	ps.children = append(ps.children, c)
	err = appendPID(ps.dir, c.Proc)
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
		out[i] = c.Proc
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

// procStat returns the state letter and start time of pid from /proc.
func procStat(pid int) (state byte, start uint64, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, err
	}
	// The command name is parenthesised and may itself hold spaces or ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("malformed stat for %d", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); field 22 (starttime) is f[19].
	if len(f) < 20 || len(f[0]) == 0 {
		return 0, 0, fmt.Errorf("malformed stat for %d", pid)
	}
	start, err = strconv.ParseUint(f[19], 10, 64)
	return f[0][0], start, err
}

func startTicks(pid int) (uint64, error) {
	_, st, err := procStat(pid)
	return st, err
}

// alive reports whether p still runs. A zombie counts as dead: it has
// exited and only waits for its parent to collect it.
func alive(p Proc) bool {
	if p.PID <= 0 {
		return false
	}
	state, st, err := procStat(p.PID)
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

func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
