package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"github.com/globalquery/kubectl-globalquery/pkg/cmd"
	"io"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/globalquery/kubectl-globalquery/pkg/tunnel"
)

// kubectlForward starts `kubectl port-forward` to a pod port on a random local port and returns
// once kubectl says it forwards, with the time that took and the local address.
func kubectlForward(ctx context.Context, bins, kubeconfig, ns, pod string, port int) (stop func(), ready time.Duration, local string, err error) {
	cmd := exec.CommandContext(ctx, filepath.Join(bins, "kubectl"), "--kubeconfig", kubeconfig, "-n", ns,
		"port-forward", "pod/"+pod, ":"+strconv.Itoa(port))
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, 0, "", err
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, 0, "", err
	}
	stop = func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}
	re := regexp.MustCompile(`Forwarding from (127\.0\.0\.1:\d+)`)
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		_, _ = io.Copy(io.Discard, stdout)
	}()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				stop()
				return nil, 0, "", fmt.Errorf("kubectl port-forward ended: %s", strings.TrimSpace(stderr.String()))
			}
			if m := re.FindStringSubmatch(line); m != nil {
				ready = time.Since(start)
				// Keep draining so kubectl never blocks on a full pipe ("Handling connection" lines).
				go func() {
					for range lines {
					}
				}()
				return stop, ready, m[1], nil
			}
		case <-timeout:
			stop()
			return nil, 0, "", fmt.Errorf("kubectl port-forward not ready within 30s: %s", strings.TrimSpace(stderr.String()))
		}
	}
}

type coldResult struct {
	ours24, ours24SPDY, ours1, endpoints24, kubectl [][]time.Duration // [0][rep]
	stores24                                        int
}

// benchColdStart alternates our `stores` over 24 discovered pods (and over one) with kubectl
// port-forward becoming ready on one of those pods.
func benchColdStart(ctx context.Context, bins, plugin string, c *benchCluster, sidecars []string, reps int) (*coldResult, error) {
	res := &coldResult{}
	var o24, o24s, o1, e24, kc []time.Duration
	var eps []string
	for i := range len(c.coldPods) {
		eps = append(eps, "--endpoint", sidecars[i%len(sidecars)])
	}
	target := c.coldPods[0]
	steps := []func() error{
		func() error {
			out, d, _, err := runTimed(ctx, plugin, "stores", "--kubeconfig", c.kubeconfig, "--service", coldService)
			if err != nil {
				return err
			}
			if res.stores24 == 0 {
				res.stores24 = countStoreLines(out)
			}
			o24 = append(o24, d)
			return nil
		},
		func() error {
			// SPDY straight through: the API server proxies the upgraded connection instead of
			// translating WebSocket frames to SPDY towards the kubelet.
			_, d, _, err := runTimed(ctx, plugin, "stores", "--kubeconfig", c.kubeconfig, "--service", coldService, "--disable-websocket")
			if err != nil {
				return err
			}
			o24s = append(o24s, d)
			return nil
		},
		func() error {
			stop, d, _, err := kubectlForward(ctx, bins, c.kubeconfig, target.Namespace, target.Name, 10901)
			if err != nil {
				return err
			}
			stop()
			kc = append(kc, d)
			return nil
		},
		func() error {
			_, d, _, err := runTimed(ctx, plugin, "stores", "--kubeconfig", c.kubeconfig, "--service", soloService)
			if err != nil {
				return err
			}
			o1 = append(o1, d)
			return nil
		},
		func() error {
			_, d, _, err := runTimed(ctx, plugin, append([]string{"stores"}, eps...)...)
			if err != nil {
				return err
			}
			e24 = append(e24, d)
			return nil
		},
	}
	for r := range reps {
		for k := range steps {
			if err := steps[(r+k)%len(steps)](); err != nil {
				return nil, fmt.Errorf("cold start: %w", err)
			}
		}
	}
	res.ours24, res.ours24SPDY, res.ours1 = [][]time.Duration{o24}, [][]time.Duration{o24s}, [][]time.Duration{o1}
	res.endpoints24, res.kubectl = [][]time.Duration{e24}, [][]time.Duration{kc}
	return res, nil
}

// traceColdStart keeps one more 24-pod run's request log (-v 6: every API request with its
// latency), which shows where the time of a cold start goes.
func traceColdStart(ctx context.Context, plugin string, c *benchCluster, path string) error {
	cmd := exec.CommandContext(ctx, plugin, "stores", "--kubeconfig", c.kubeconfig, "--service", coldService, "-v", "6")
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	cmd.Stdout, cmd.Stderr = f, f
	return cmd.Run()
}

// coldStartCPU runs the 24-pod `stores` runs times and returns, per run, the CPU time (user +
// system) it took and what the API server and kwok spent meanwhile: on 2 cores, where a cold
// start's time goes.
func coldStartCPU(ctx context.Context, plugin string, c *benchCluster, servers []int, runs int) (ours, theirs time.Duration, err error) {
	before, err := cpuOf(servers)
	if err != nil {
		return 0, 0, err
	}
	for range runs {
		cmd := exec.CommandContext(ctx, plugin, "stores", "--kubeconfig", c.kubeconfig, "--service", coldService)
		if err := cmd.Run(); err != nil {
			return 0, 0, fmt.Errorf("stores: %w", err)
		}
		ours += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	after, err := cpuOf(servers)
	if err != nil {
		return 0, 0, err
	}
	return ours / time.Duration(runs), (after - before) / time.Duration(runs), nil
}

// coldProfile runs the 24-pod `stores` command in this process runs times, for the profiler:
// discovery, tunnels and Info without the process start.
func coldProfile(ctx context.Context, c *benchCluster, runs int) error {
	for range runs {
		root := cmd.NewRootCommand(genericiooptions.IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: io.Discard})
		root.SetArgs([]string{"stores", "--kubeconfig", c.kubeconfig, "--service", coldService, "-q"})
		if err := root.ExecuteContext(ctx); err != nil {
			return err
		}
	}
	return nil
}

// cpuOf sums the user and system time of the processes (from /proc/PID/stat, in clock ticks of
// 10 ms: coldStartCPU averages over several runs).
func cpuOf(pids []int) (time.Duration, error) {
	var total time.Duration
	for _, pid := range pids {
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return 0, err
		}
		// Fields after the command name, which is in parentheses and may hold spaces.
		f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
		if len(f) < 13 {
			return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
		}
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		total += time.Duration(ut+st) * 10 * time.Millisecond
	}
	return total, nil
}

// countStoreLines counts the rows of the `stores` table (every line but the header).
func countStoreLines(out []byte) int {
	n := 0
	for i, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if i > 0 && strings.TrimSpace(line) != "" {
			n++
		}
	}
	return n
}

// The byte source: a helper process (this program, re-run) that sends n bytes on every
// connection, so that the reading side measures the path and not the writer sharing its CPU.
const bytesSubcommand = "serve-bytes"

func serveBytesMain(args []string) {
	fs := flag.NewFlagSet(bytesSubcommand, flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	n := fs.Int64("bytes", 256<<20, "bytes per connection")
	_ = fs.Parse(args)
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	buf := make([]byte, 1<<20)
	for i := range buf {
		buf[i] = byte(i * 7)
	}
	for {
		c, err := l.Accept()
		if err != nil {
			os.Exit(1)
		}
		go func() {
			defer c.Close()
			left := *n
			for left > 0 {
				w := min(left, int64(len(buf)))
				if _, err := c.Write(buf[:w]); err != nil {
					return
				}
				left -= w
			}
		}()
	}
}

// readN reads exactly n bytes and reports how long that took from the first call.
func readN(r io.Reader, n int64, start time.Time) (time.Duration, error) {
	buf := make([]byte, 256<<10)
	var got int64
	for got < n {
		k, err := r.Read(buf)
		got += int64(k)
		if err != nil && got < n {
			return 0, fmt.Errorf("after %d of %d bytes: %w", got, n, err)
		}
	}
	return time.Since(start), nil
}

type tputResult struct {
	bytes int64
	times map[string][]time.Duration
}

const (
	tputOursWS   = "ours (pkg/tunnel, WebSocket)"
	tputOursSPDY = "ours (pkg/tunnel, SPDY)"
	tputKubectl  = "kubectl port-forward"
	tputDirect   = "direct loopback"
)

// benchThroughput reads n bytes from the source in the throughput pod through each path,
// alternating. Connection set-up (the tunnel upgrade, kubectl becoming ready) is not timed; the
// new stream (or local connection) and the transfer are.
func benchThroughput(ctx context.Context, bins string, c *benchCluster, direct string, n int64, reps int) (*tputResult, error) {
	res := &tputResult{bytes: n, times: map[string][]time.Duration{}}
	ours := func(spdy bool) (time.Duration, error) {
		t, err := tunnel.New(c.rest, tputNamespace, tputPod, tunnel.Options{DisableWebSocket: spdy})
		if err != nil {
			return 0, err
		}
		defer t.Close()
		if err := t.Connect(ctx); err != nil {
			return 0, err
		}
		want := tunnel.WebSocket
		if spdy {
			want = tunnel.SPDY
		}
		if t.Transport() != want {
			return 0, fmt.Errorf("tunnel uses %s, want %s", t.Transport(), want)
		}
		start := time.Now()
		conn, err := t.Dial(ctx, tputPort)
		if err != nil {
			return 0, err
		}
		defer conn.Close()
		return readN(conn, n, start)
	}
	steps := map[string]func() (time.Duration, error){
		tputOursWS:   func() (time.Duration, error) { return ours(false) },
		tputOursSPDY: func() (time.Duration, error) { return ours(true) },
		tputKubectl: func() (time.Duration, error) {
			stop, _, local, err := kubectlForward(ctx, bins, c.kubeconfig, tputNamespace, tputPod, tputPort)
			if err != nil {
				return 0, err
			}
			defer stop()
			start := time.Now()
			conn, err := net.Dial("tcp", local)
			if err != nil {
				return 0, err
			}
			defer conn.Close()
			return readN(conn, n, start)
		},
		tputDirect: func() (time.Duration, error) {
			start := time.Now()
			conn, err := net.Dial("tcp", direct)
			if err != nil {
				return 0, err
			}
			defer conn.Close()
			return readN(conn, n, start)
		},
	}
	order := []string{tputOursWS, tputKubectl, tputOursSPDY, tputDirect}
	for r := range reps {
		for k := range order {
			name := order[(r+k)%len(order)]
			d, err := steps[name]()
			if err != nil {
				return nil, fmt.Errorf("throughput, %s: %w", name, err)
			}
			res.times[name] = append(res.times[name], d)
		}
	}
	return res, nil
}
