package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/globalquery/kubectl-globalquery/internal/bed"
	"github.com/globalquery/kubectl-globalquery/pkg/fanout"
)

// The kubelet that serves every port-forward (kwok, in the bed) dies in the middle of a query and
// comes back: the API server drops every tunnel, the parts in flight fail, and the retries
// reopen the tunnels and still give the Querier's answer. kwok is stopped first so that the
// query is sure to be waiting on the tunnels when they drop.
func TestRetryReopensDroppedTunnels(t *testing.T) {
	b := secondBed(t, "second bed", bed.Config{})
	var kwok bed.Proc
	for _, p := range b.Procs {
		if p.Name == "kwok" {
			kwok = p
		}
	}
	argv, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", kwok.PID))
	if err != nil || kwok.PID == 0 {
		t.Fatalf("kwok's command line: %v", err)
	}
	args := strings.Split(strings.TrimRight(string(argv), "\x00"), "\x00")

	set, _ := connectStores(t, withKubeconfig(b.Kubeconfig))
	stores := set.FanoutStores()

	q := `sum by (cluster, code) (rate(http_requests_total[5m]))`
	var stderr bytes.Buffer
	done := make(chan *apiResponse, 1)
	if err := syscall.Kill(kwok.PID, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	callsBefore := totalCalls(stores)
	go func() {
		done <- answerOrError(ours(stores, &stderr, q, "-o", "json", "--start", secs(b.HistoryStart), "--end", secs(b.HistoryEnd),
			"--step", "30", "--split-interval", "10m", "--log-slow-queries", "1ns", "--timeout", "2m"))
	}()
	deadline := time.Now().Add(30 * time.Second)
	for totalCalls(stores) == callsBefore && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if totalCalls(stores) == callsBefore {
		t.Fatal("the query did not reach the stores")
	}
	callsAtKill := totalCalls(stores)
	if err := syscall.Kill(kwok.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// kwok stays down until a store has been asked again, so that a retry meets the dead tunnel.
	deadline = time.Now().Add(30 * time.Second)
	for totalCalls(stores) == callsAtKill && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if totalCalls(stores) == callsAtKill {
		t.Fatal("no store was asked again after the tunnels dropped")
	}
	restarted := exec.Command(args[0], args[1:]...)
	restarted.Dir = b.Dir
	logf, err := os.Create(filepath.Join(b.Dir, "logs", "kwok-restarted.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	restarted.Stdout, restarted.Stderr = logf, logf
	restarted.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := restarted.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { restarted.Process.Kill(); restarted.Wait() }()

	var got *apiResponse
	select {
	case got = <-done:
	case <-time.After(2 * time.Minute):
		t.Fatal("the query did not end")
	}
	if got.Status != "success" {
		t.Fatalf("query across the dropped tunnels: %s\n%s", got.Error, stderr.String())
	}
	// The Querier asked for the same parts: with dedup, where a range starts can change the
	// replica picked (see TestSplitEqualsUnsplit).
	want := oracleParts(t, b.QuerierHTTP, q, b.HistoryStart, b.HistoryEnd, 30_000, 10*time.Minute, true)
	if d := diffResults(t, got, want, false); d != "" {
		t.Fatalf("answer after the retries: %s", d)
	}
	m := regexp.MustCompile(`retries=(\d+)`).FindStringSubmatch(stderr.String())
	if m == nil || m[1] == "0" {
		t.Fatalf("no retry was needed, so nothing was tested:\n%s", stderr.String())
	}
	t.Logf("retries: %s", m[1])
}

func totalCalls(stores []*fanout.Store) int64 {
	var n int64
	for _, s := range stores {
		n += s.Stats.SeriesCalls.Load()
	}
	return n
}

// A store that stays down through every retry fails the query naming it, the attempts, and
// what to do.
func TestRetryGivesUpNamingTheStore(t *testing.T) {
	proxy := startProxy(t, theBed.Stores[0].SidecarGRPC)
	set, _ := connectStores(t, withEndpoints(append([]string{proxy.addr()}, sidecarAddrs()[1:]...)...))
	proxy.kill()
	var stderr bytes.Buffer
	got := answerOrError(ours(set.FanoutStores(), &stderr, `count(up)`, "-o", "json", "--time", secs(theBed.HistoryEnd), "--max-retries", "2"))
	if got.Status != "error" {
		t.Fatalf("a dead store answered: %+v", got)
	}
	for _, want := range []string{"store " + proxy.addr(), "3 attempts", "--max-retries 2", "--partial-response"} {
		if !strings.Contains(got.Error, want) {
			t.Errorf("error %q does not say %q", got.Error, want)
		}
	}
	for _, bad := range []string{"rpc error: code =", "context deadline exceeded"} {
		if strings.Contains(got.Error, bad) {
			t.Errorf("error %q shows %q", got.Error, bad)
		}
	}
}
