// Command bed starts and stops the local test bed of internal/bed.
//
//	go run ./hack/bed up -dir DIR [-hours N] [-bin DIR]
//	go run ./hack/bed down -dir DIR
//	go run ./hack/bed status -dir DIR
//
// `up` on a dir whose bed is still running leaves it alone, prints its
// summary and exits 0; stop it with `down` first to get a fresh one.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/globalquery/kubectl-globalquery/internal/bed"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "up":
		err = up(os.Args[2:])
	case "down":
		err = down(os.Args[2:])
	case "status":
		err = status(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bed:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: bed up -dir DIR [-hours N] [-bin DIR] [-quiet] | bed down -dir DIR | bed status -dir DIR")
	os.Exit(2)
}

func dirFlag(fs *flag.FlagSet) *string {
	return fs.String("dir", ".bed", "data dir of the bed")
}

func up(args []string) error {
	fs := flag.NewFlagSet("up", flag.ExitOnError)
	dir := dirFlag(fs)
	hours := fs.Int("hours", 6, "hours of backfilled history per Prometheus")
	bin := fs.String("bin", "", "directory of the tool binaries (default: <repo>/bin)")
	quiet := fs.Bool("quiet", false, "do not print progress")
	var apiArgs multiFlag
	fs.Var(&apiArgs, "apiserver-arg", "extra kube-apiserver flag (repeatable)")
	var plain multiFlag
	fs.Var(&plain, "plain-region", "namespace whose Prometheus pods kube shows without a Thanos sidecar, e.g. europe (repeatable)")
	_ = fs.Parse(args)

	if bed.Running(*dir) {
		st, err := bed.Load(*dir)
		if err != nil {
			return fmt.Errorf("a bed is running in %s but its state is unreadable: %w", *dir, err)
		}
		fmt.Printf("a bed is already running in %s (run `down` first for a fresh one)\n", st.Dir)
		summary(os.Stdout, st)
		return nil
	}
	var log io.Writer = os.Stderr
	if *quiet {
		log = nil
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	start := time.Now()
	st, err := bed.Up(ctx, bed.Config{
		Dir: *dir, BinDir: *bin, HistoryHours: *hours, Detach: true,
		APIServerArgs: apiArgs, Log: log, PlainRegions: plain,
	})
	if errors.Is(err, bed.ErrRunning) {
		fmt.Println(err)
		return nil
	}
	if err != nil {
		return err
	}
	fmt.Printf("bed up in %.1fs\n", time.Since(start).Seconds())
	summary(os.Stdout, st)
	return nil
}

func down(args []string) error {
	fs := flag.NewFlagSet("down", flag.ExitOnError)
	dir := dirFlag(fs)
	_ = fs.Parse(args)
	st, err := bed.Load(*dir)
	if errors.Is(err, os.ErrNotExist) {
		// Up may have died before writing its state; the pids file still
		// names what it started.
		abs, _ := filepath.Abs(*dir)
		st = &bed.State{Dir: abs}
	} else if err != nil {
		return err
	}
	if err := st.Down(); err != nil {
		return err
	}
	fmt.Printf("bed in %s stopped\n", st.Dir)
	return nil
}

func status(args []string) error {
	fs := flag.NewFlagSet("status", flag.ExitOnError)
	dir := dirFlag(fs)
	_ = fs.Parse(args)
	st, err := bed.Load(*dir)
	if err != nil {
		return err
	}
	if bed.Running(*dir) {
		fmt.Println("running")
	} else {
		fmt.Println("stopped")
	}
	summary(os.Stdout, st)
	return nil
}

func summary(w io.Writer, st *bed.State) {
	fmt.Fprintf(w, "kubeconfig:  %s\n", st.Kubeconfig)
	fmt.Fprintf(w, "apiserver:   %s\n", st.APIServer)
	fmt.Fprintf(w, "querier:     %s (gRPC %s)\n", st.QuerierHTTP, st.QuerierGRPC)
	fmt.Fprintf(w, "history:     %s .. %s\n",
		time.UnixMilli(st.HistoryStart).UTC().Format(time.RFC3339), time.UnixMilli(st.HistoryEnd).UTC().Format(time.RFC3339))
	fmt.Fprintln(w, "stores:")
	for _, s := range st.Stores {
		fmt.Fprintf(w, "  %s/%s\n    cluster=%q replica=%q\n    sidecar gRPC %s, HTTP %s, prometheus %s\n",
			s.Namespace, s.Pod, s.Cluster, s.Replica, s.SidecarGRPC, s.SidecarHTTP, s.PrometheusURL)
	}
	if st.StoreGateway != "" {
		fmt.Fprintf(w, "querier-all: %s (gRPC %s): sidecars and store gateway\n", st.QuerierAllHTTP, st.QuerierAllGRPC)
		fmt.Fprintf(w, "store gw:    %s (gRPC %s) over %s, oldest sample %s\n", st.StoreGatewayHTTP, st.StoreGateway, st.Bucket,
			time.UnixMilli(st.BucketStart).UTC().Format(time.RFC3339))
		fmt.Fprintf(w, "target:      %s (ephemeral job ended %s)\n", st.HistogramTarget,
			time.UnixMilli(st.EphemeralEnd).UTC().Format("15:04:05.000"))
	}
	fmt.Fprintf(w, "logs:        %s\n", filepath.Join(st.Dir, "logs"))
}

type multiFlag []string

func (m *multiFlag) String() string     { return fmt.Sprint(*m) }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
