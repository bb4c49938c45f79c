package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// measureSubcommand runs a command for runMeasured: `bench run-measured BIN ARGS...`.
const measureSubcommand = "run-measured"

// runMeasured is runTimed for a command whose peak RSS is the figure. Its ru_maxrss cannot come
// from a child of this process: Go starts children with vfork, and exec records the high-water
// mark of the address space it replaces, this process's, which holds hundreds of MiB after the
// in-process runs; every child would report at least that. A small helper process starts the
// command instead, so that what its exec replaces is the helper's own, and reports the command's
// ru_maxrss and wall time. The helper's own peak RSS (~65 MiB here, mostly the bench binary's
// pages) is the floor of the figure, below the plugin's RSS at rest.
func runMeasured(ctx context.Context, bin string, args ...string) (out []byte, wall time.Duration, maxRSSKB int64, err error) {
	self, err := os.Executable()
	if err != nil {
		return nil, 0, 0, err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, 0, 0, err
	}
	defer r.Close()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, self, append([]string{measureSubcommand, bin}, args...)...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.ExtraFiles = []*os.File{w}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		w.Close()
		return nil, 0, 0, err
	}
	w.Close()
	report, rerr := io.ReadAll(r)
	if err := cmd.Wait(); err != nil {
		return stdout.Bytes(), 0, 0, commandError(bin, err, &stderr)
	}
	if rerr != nil {
		return nil, 0, 0, rerr
	}
	var ns int64
	if _, err := fmt.Sscanf(string(report), "%d %d", &maxRSSKB, &ns); err != nil {
		return nil, 0, 0, fmt.Errorf("measuring %s: report %q: %w", filepath.Base(bin), report, err)
	}
	return stdout.Bytes(), time.Duration(ns), maxRSSKB, nil
}

// measureMain is the helper: it runs the command with this process's stdio, writes
// "MAXRSS_KIB WALL_NS" to file descriptor 3 and exits as the command did.
func measureMain(args []string) {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: bench", measureSubcommand, "BIN [ARGS...]")
		os.Exit(2)
	}
	report := os.NewFile(3, "report")
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if cmd.ProcessState == nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		fmt.Fprintf(report, "%d %d\n", ru.Maxrss, wall.Nanoseconds())
	}
	report.Close()
	os.Exit(cmd.ProcessState.ExitCode())
}
