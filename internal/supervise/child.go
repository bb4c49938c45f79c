// Package supervise runs the long-lived helper processes of the test bed and
// the benchmarks: each logs to a file of its own, and a wait for one to become
// ready gives up as soon as a process it depends on has died.
package supervise

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Child is a process started by this one. Its Wait runs aside, so that an
// early exit is noticed and a dead child does not linger as a zombie that
// still looks alive.
type Child struct {
	Name string
	PID  int
	// StartTicks (field 22 of /proc/PID/stat) tells this process from an
	// unrelated one given its PID after it died; 0 if it could not be read.
	StartTicks uint64
	Log        string
	done       chan struct{}
	err        error
}

// Start runs bin in dir with its output in <dir>/logs/<name>.log; stdout, if
// not nil, takes the standard output instead. attr ties the child's life to
// this process or frees it from it, as the caller needs.
func Start(dir, name string, stdout io.Writer, attr *syscall.SysProcAttr, bin string, args ...string) (*Child, error) {
	logPath := filepath.Join(dir, "logs", name+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = f, f
	if stdout != nil {
		cmd.Stdout = stdout
	}
	cmd.SysProcAttr = attr
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	c := &Child{Name: name, PID: cmd.Process.Pid, Log: logPath, done: make(chan struct{})}
	// Read before Wait can reap the child: a reaped PID has no stat to read.
	_, c.StartTicks, _ = Stat(c.PID)
	go func() {
		c.err = cmd.Wait()
		f.Close()
		close(c.done)
	}()
	return c, nil
}

// Done is closed once the child has exited and been reaped.
func (c *Child) Done() <-chan struct{} { return c.done }

func (c *Child) Exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// Err is what Wait returned; it is set once Done is closed.
func (c *Child) Err() error { return c.err }

// Stat returns the state letter and start time of pid from /proc.
func Stat(pid int) (state byte, start uint64, err error) {
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

// Tail returns the last n lines of the file at path, or "" if it cannot be read.
func Tail(path string, n int) string {
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
