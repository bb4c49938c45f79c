package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/globalquery/kubectl-globalquery/internal/supervise"
)

// proc is a long-running helper process (Prometheus, sidecar, Querier, kwok, the byte
// source).
type proc struct {
	*supervise.Child
}

func (p *proc) ExitErr() error {
	return fmt.Errorf("%s exited early (%v); log %s:\n%s", p.Name, p.Err(), p.Log, supervise.Tail(p.Log, 12))
}

// procs records every helper it starts, by PID, in <dir>/pids, so that a run killed half way can
// be cleaned up by the next one.
type procs struct {
	dir string

	mu   sync.Mutex
	list []*proc
}

func newProcs(dir string) (*procs, error) {
	if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o755); err != nil {
		return nil, err
	}
	return &procs{dir: dir}, nil
}

// start runs bin; its output goes to <dir>/logs/<name>.log unless stdout is given.
func (ps *procs) start(name string, stdout io.Writer, bin string, args ...string) (*proc, error) {
	// A driver killed by a signal it cannot catch still takes its helpers with it.
	c, err := supervise.Start(ps.dir, name, stdout, &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}, bin, args...)
	if err != nil {
		return nil, err
	}
	p := &proc{c}
	ps.mu.Lock()
	ps.list = append(ps.list, p)
	err = ps.savePIDs()
	ps.mu.Unlock()
	return p, err
}

func (ps *procs) savePIDs() error {
	var b strings.Builder
	for _, p := range ps.list {
		if !p.Exited() {
			fmt.Fprintf(&b, "%d %s\n", p.PID, p.Name)
		}
	}
	return os.WriteFile(filepath.Join(ps.dir, "pids"), []byte(b.String()), 0o644)
}

// stop ends one process: SIGTERM, then SIGKILL after grace.
func (ps *procs) stop(p *proc, grace time.Duration) {
	if p == nil || p.Exited() {
		return
	}
	_ = syscall.Kill(p.PID, syscall.SIGTERM)
	select {
	case <-p.Done():
	case <-time.After(grace):
		_ = syscall.Kill(p.PID, syscall.SIGKILL)
		<-p.Done()
	}
	ps.mu.Lock()
	_ = ps.savePIDs()
	ps.mu.Unlock()
}

// stopAll ends every process still running, all at once: none of them depends on another
// for a clean exit.
func (ps *procs) stopAll() {
	ps.mu.Lock()
	list := append([]*proc(nil), ps.list...)
	ps.mu.Unlock()
	var wg sync.WaitGroup
	for i := len(list) - 1; i >= 0; i-- {
		p := list[i]
		wg.Go(func() { ps.stop(p, 10*time.Second) })
	}
	wg.Wait()
	_ = os.Remove(filepath.Join(ps.dir, "pids"))
}

// killStale stops what a killed earlier run left in dir's pids file. A PID counts only while its
// command line still names a binary of binDir or this program, so a recycled PID is left alone.
func killStale(dir, binDir string) {
	b, err := os.ReadFile(filepath.Join(dir, "pids"))
	if err != nil {
		return
	}
	self, _ := os.Executable()
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		pid, err := strconv.Atoi(f[0])
		if err != nil || pid <= 1 {
			continue
		}
		cl, err := os.ReadFile("/proc/" + f[0] + "/cmdline")
		if err != nil {
			continue
		}
		arg0 := string(bytes.SplitN(cl, []byte{0}, 2)[0])
		if strings.HasPrefix(arg0, binDir+string(os.PathSeparator)) || filepath.Base(arg0) == filepath.Base(self) {
			fmt.Fprintf(os.Stderr, "stopping %s (pid %d) left by an earlier run\n", strings.Join(f[1:], " "), pid)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	_ = os.Remove(filepath.Join(dir, "pids"))
}

// procStatusKB reads a "Vm...:  N kB" field of /proc/PID/status.
func procStatusKB(pid int, field string) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				return strconv.ParseInt(f[0], 10, 64)
			}
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

// poll calls fn until it reports done, ctx ends, or a watched process exits.
func poll(ctx context.Context, what string, watch []*proc, every time.Duration, fn func(context.Context) (bool, error)) error {
	return supervise.Poll(ctx, what, watch, every, true, fn)
}

// runTimed runs a short-lived command to completion and reports its wall time and ru_maxrss (in
// KiB on Linux), which is at least this process's peak RSS (see runMeasured). Its stdout is
// returned; stderr goes into the error on failure.
func runTimed(ctx context.Context, bin string, args ...string) (out []byte, wall time.Duration, maxRSSKB int64, err error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	start := time.Now()
	err = cmd.Run()
	wall = time.Since(start)
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			maxRSSKB = ru.Maxrss
		}
	}
	return stdout.Bytes(), wall, maxRSSKB, commandError(bin, err, &stderr)
}

// commandError names the command a failed run was of and adds what it wrote to stderr.
func commandError(bin string, err error, stderr *bytes.Buffer) error {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return fmt.Errorf("%s: %w: %s", filepath.Base(bin), err, strings.TrimSpace(stderr.String()))
	}
	return err
}
