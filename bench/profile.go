package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
)

func init() {
	// Finer than the default 512 KiB, so that the many small allocations of series decoding
	// show up in proportion; set before anything allocates much.
	runtime.MemProfileRate = 64 << 10
}

// profiler records a CPU profile and the allocations made while fn runs (as the difference of
// two snapshots of the cumulative allocation profile).
type profiler struct{ dir string }

func (p *profiler) paths(name string) (cpu, allocBase, alloc string) {
	return filepath.Join(p.dir, name+".cpu.pprof"), filepath.Join(p.dir, name+".allocs-before.pprof"), filepath.Join(p.dir, name+".allocs.pprof")
}

func (p *profiler) run(name string, fn func() error) error {
	if err := os.MkdirAll(p.dir, 0o755); err != nil {
		return err
	}
	cpu, base, alloc := p.paths(name)
	runtime.GC()
	if err := writeAllocs(base); err != nil {
		return err
	}
	f, err := os.Create(cpu)
	if err != nil {
		return err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return err
	}
	ferr := fn()
	pprof.StopCPUProfile()
	if err := f.Close(); err != nil {
		return err
	}
	runtime.GC()
	if err := writeAllocs(alloc); err != nil {
		return err
	}
	return ferr
}

func writeAllocs(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

const ourCode = `globalquery/kubectl-globalquery/pkg/`

// report summarises a profile with `go tool pprof`: the top functions overall, then ours alone,
// by own and by cumulative share. Ours are picked out of the full listing rather than with
// -show, which would charge hidden callees to our callers as if it were their own time.
func (p *profiler) report(name string, n int) string {
	cpu, base, alloc := p.paths(name)
	var b strings.Builder
	section := func(title string, ours bool, args ...string) {
		nodes := n
		if ours {
			nodes = 100000
		}
		out, err := exec.Command("go", append([]string{"tool", "pprof", "-top", fmt.Sprintf("-nodecount=%d", nodes)}, args...)...).CombinedOutput()
		fmt.Fprintf(&b, "\n%s\n", title)
		if err != nil {
			fmt.Fprintf(&b, "  pprof failed: %v\n%s", err, out)
			return
		}
		b.WriteString(pprofTable(string(out), ours, n))
	}
	section(name+" CPU, all code (by own time):", false, cpu)
	if out, err := exec.Command("go", "tool", "pprof", "-top", "-cum", "-nodecount=100000", cpu).CombinedOutput(); err == nil {
		fmt.Fprintf(&b, "\n%s CPU in the Go runtime's memory management (cumulative):\n", name)
		for _, line := range strings.Split(string(out), "\n") {
			f := strings.Fields(line)
			if len(f) == 6 && (f[5] == "runtime.gcBgMarkWorker" || f[5] == "runtime.mallocgc") {
				b.WriteString("  " + dropSum(line) + "\n")
			}
		}
	}
	section(name+" CPU, our packages (by own time):", true, cpu)
	section(name+" CPU, our packages (by cumulative time):", true, "-cum", cpu)
	section(name+" allocated bytes, all code (by own allocations):", false, "-sample_index=alloc_space", "-base", base, alloc)
	section(name+" allocated bytes, our packages (by own allocations):", true, "-sample_index=alloc_space", "-base", base, alloc)
	section(name+" allocated bytes, our packages (by cumulative allocations):", true, "-sample_index=alloc_space", "-cum", "-base", base, alloc)
	return b.String()
}

// pprofTable keeps pprof's summary and table lines, indented, and drops its preamble; with ours
// it keeps only the first n rows naming our packages.
func pprofTable(out string, ours bool, n int) string {
	var b strings.Builder
	keep, rows := false, 0
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		switch {
		case strings.HasPrefix(line, "Showing nodes") && !ours:
			b.WriteString("  " + line + "\n")
		case strings.Contains(line, "flat%") && strings.Contains(line, "cum%"):
			keep = true
			if ours {
				line = dropSum(line)
			}
			b.WriteString("  " + line + "\n")
		case keep && rows < n && !ours:
			rows++
			b.WriteString("  " + line + "\n")
		case keep && rows < n && strings.Contains(line, ourCode):
			rows++
			b.WriteString("  " + dropSum(line) + "\n")
		}
	}
	return b.String()
}

// dropSum removes pprof's running-total column, which means nothing once rows are filtered.
func dropSum(line string) string {
	f := strings.Fields(line)
	if len(f) == 5 && f[0] == "flat" {
		return fmt.Sprintf("%10s %7s %10s %7s", f[0], f[1], f[3], f[4])
	}
	if len(f) < 6 {
		return line
	}
	return fmt.Sprintf("%10s %7s %10s %7s  %s", f[0], f[1], f[3], f[4], strings.Join(f[5:], " "))
}
