package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/globalquery/kubectl-globalquery/internal/supervise"
)

// The high-cardinality history: one set of TSDB blocks, generated once and reused by later runs,
// that every high-cardinality store opens under external labels of its own.
//
//	bench_requests_total{job, instance, handler, code}   counter  jobs × instances × handlers × codes
//	bench_inflight_requests{job, instance, handler}      gauge    jobs × instances × handlers
//	up{job, instance}                                    gauge    jobs × instances
type hcShape struct {
	Jobs, InstancesPerJob, Handlers, Codes int
	Minutes, StepSeconds                   int
}

var hcDefault = hcShape{Jobs: 20, InstancesPerJob: 40, Handlers: 50, Codes: 4, Minutes: 30, StepSeconds: 30}

func (s hcShape) series() int {
	inst := s.Jobs * s.InstancesPerJob
	return inst*s.Handlers*s.Codes + inst*s.Handlers + inst
}

func (s hcShape) samples() int { return s.Minutes*60/s.StepSeconds + 1 }

// hcMeta is written last, so that its presence means the blocks are complete.
type hcMeta struct {
	Version int     `json:"version"`
	Shape   hcShape `json:"shape"`
	Start   int64   `json:"start"` // ms
	End     int64   `json:"end"`   // ms
}

const hcVersion = 1

var hcCodes = []string{"200", "201", "404", "500"}

// hash64 spreads small integers into unrelated-looking values (splitmix64).
func hash64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// writeHicardOM writes the history as OpenMetrics: families one after another, each series'
// samples in time order, as promtool's backfill wants them.
func writeHicardOM(w io.Writer, s hcShape, start int64) error {
	bw := bufio.NewWriterSize(w, 4<<20)
	n := s.samples()
	ts := make([][]byte, n)
	for i := range n {
		t := start + int64(i*s.StepSeconds)*1000
		ts[i] = []byte(" " + strconv.FormatInt(t/1000, 10) + "\n")
	}
	var line []byte
	instance := func(j, i int) string { return fmt.Sprintf("10.%d.%d.%d:8080", j, i/200, i%200+10) }
	handler := func(h int) string { return fmt.Sprintf("/api/v1/resource-%02d", h) }

	bw.WriteString("# TYPE bench_requests counter\n# HELP bench_requests Requests served.\n")
	id := uint64(0)
	for j := range s.Jobs {
		job := fmt.Sprintf("svc-%02d", j)
		for i := range s.InstancesPerJob {
			inst := instance(j, i)
			for h := range s.Handlers {
				hd := handler(h)
				for c := range s.Codes {
					id++
					hv := hash64(id)
					base := int64(hv % 100000)
					rate := int64(1 + (hv>>20)%40)
					if c >= 2 {
						rate = int64((hv >> 20) % 3)
					}
					prefix := `bench_requests_total{job="` + job + `",instance="` + inst + `",handler="` + hd + `",code="` + hcCodes[c%len(hcCodes)] + `"} `
					for k := range n {
						line = append(line[:0], prefix...)
						line = strconv.AppendInt(line, base+rate*int64(k), 10)
						line = append(line, ts[k]...)
						bw.Write(line)
					}
				}
			}
		}
	}

	bw.WriteString("# TYPE bench_inflight_requests gauge\n# HELP bench_inflight_requests Requests in progress.\n")
	for j := range s.Jobs {
		job := fmt.Sprintf("svc-%02d", j)
		for i := range s.InstancesPerJob {
			inst := instance(j, i)
			for h := range s.Handlers {
				id++
				hv := hash64(id)
				prefix := `bench_inflight_requests{job="` + job + `",instance="` + inst + `",handler="` + handler(h) + `"} `
				for k := range n {
					line = append(line[:0], prefix...)
					line = strconv.AppendInt(line, int64((hv+uint64(k)*(hv>>40))%20), 10)
					line = append(line, ts[k]...)
					bw.Write(line)
				}
			}
		}
	}

	bw.WriteString("# TYPE up gauge\n# HELP up Whether the target was scraped successfully.\n")
	for j := range s.Jobs {
		job := fmt.Sprintf("svc-%02d", j)
		for i := range s.InstancesPerJob {
			prefix := `up{job="` + job + `",instance="` + instance(j, i) + `"} `
			for k := range n {
				line = append(line[:0], prefix...)
				line = append(line, '1')
				line = append(line, ts[k]...)
				bw.Write(line)
			}
		}
	}
	bw.WriteString("# EOF\n")
	return bw.Flush()
}

// hicardBlocks returns the directory of the generated blocks and their time range, generating
// them first unless an earlier run left a complete set of the same shape.
func hicardBlocks(ctx context.Context, dir, bins string, s hcShape, logf func(string, ...any)) (string, hcMeta, error) {
	root := filepath.Join(dir, "hicard")
	blocks := filepath.Join(root, "blocks")
	metaPath := filepath.Join(root, "meta.json")
	if b, err := os.ReadFile(metaPath); err == nil {
		var m hcMeta
		if json.Unmarshal(b, &m) == nil && m.Version == hcVersion && m.Shape == s {
			logf("high cardinality: reusing the blocks in %s (%d series per store)", blocks, s.series())
			return blocks, m, nil
		}
	}
	if err := os.RemoveAll(root); err != nil {
		return "", hcMeta{}, err
	}
	if err := os.MkdirAll(blocks, 0o755); err != nil {
		return "", hcMeta{}, err
	}
	step := time.Duration(s.StepSeconds) * time.Second
	end := time.Now().Add(-10 * time.Minute).Truncate(step)
	start := end.Add(-time.Duration(s.Minutes) * time.Minute)
	m := hcMeta{Version: hcVersion, Shape: s, Start: start.UnixMilli(), End: end.UnixMilli()}

	t0 := time.Now()
	om := filepath.Join(root, "history.om")
	f, err := os.Create(om)
	if err != nil {
		return "", m, err
	}
	if err := writeHicardOM(f, s, m.Start); err != nil {
		f.Close()
		return "", m, err
	}
	if err := f.Close(); err != nil {
		return "", m, err
	}
	st, _ := os.Stat(om)
	logf("high cardinality: wrote %d series × %d samples as OpenMetrics (%.0f MB) in %.0fs; promtool is turning them into blocks",
		s.series(), s.samples(), float64(st.Size())/1e6, time.Since(t0).Seconds())
	t1 := time.Now()
	logPath := filepath.Join(root, "promtool.log")
	lf, err := os.Create(logPath)
	if err != nil {
		return "", m, err
	}
	cmd := exec.CommandContext(ctx, filepath.Join(bins, "promtool"), "tsdb", "create-blocks-from", "openmetrics", om, blocks)
	cmd.Stdout, cmd.Stderr = lf, lf
	err = cmd.Run()
	lf.Close()
	if err != nil {
		return "", m, fmt.Errorf("promtool: %w; log %s:\n%s", err, logPath, supervise.Tail(logPath, 10))
	}
	if err := os.Remove(om); err != nil {
		return "", m, err
	}
	logf("high cardinality: blocks ready in %.0fs (%s)", time.Since(t1).Seconds(), blocks)
	b, _ := json.Marshal(m)
	return blocks, m, os.WriteFile(metaPath, b, 0o644)
}

// linkTree fills dst with hard links to src's files (copies where links fail): Prometheus only
// ever replaces block files, never rewrites them, so the pristine set stays intact.
func linkTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if err := os.Link(p, target); err == nil {
			return nil
		} else if !errors.Is(err, os.ErrExist) {
			return copyFile(p, target)
		}
		return nil
	})
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
