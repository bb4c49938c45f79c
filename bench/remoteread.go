package main

import (
	"context"
	"fmt"
	"time"

	"github.com/globalquery/kubectl-globalquery/pkg/fanout"
	"github.com/globalquery/kubectl-globalquery/pkg/remoteread"
)

// remoteReadResult holds, per query, the runs over the sidecars and over remote read.
type remoteReadResult struct {
	queries            []promQuery
	sidecar, plain     [][]time.Duration
	sidecarMB, plainMB float64 // chunk bytes received per run of all queries
	mismatches         []string
}

// plainStores reads the bed's Prometheus servers through remote read on their web ports, the way
// a plain pod is read, minus the tunnel (which both sides would share).
func plainStores(ctx context.Context, b *bed) ([]*fanout.Store, func(), error) {
	var (
		stores  []*fanout.Store
		clients []*remoteread.Client
	)
	closeAll := func() {
		for _, c := range clients {
			c.Close()
		}
	}
	for _, s := range b.st.Stores {
		c := remoteread.NewURL(s.PrometheusURL)
		clients = append(clients, c)
		inf, err := c.Info(ctx)
		if err != nil {
			closeAll()
			return nil, nil, fmt.Errorf("remote read from %s/%s: %w", s.Namespace, s.Pod, err)
		}
		stores = append(stores, &fanout.Store{Name: s.Namespace + "/" + s.Pod, Client: c, Info: *inf})
	}
	return stores, closeAll, nil
}

func chunkBytes(stores []*fanout.Store) int64 {
	var n int64
	for _, s := range stores {
		n += s.Stats.SamplesBytes.Load()
	}
	return n
}

// benchRemoteRead runs the same range queries in-process over the sidecars and over remote read,
// alternating which side goes first, and checks that both give the same answer.
func benchRemoteRead(ctx context.Context, sidecars, plain []*fanout.Store, queries []promQuery, reps int) (*remoteReadResult, error) {
	res := &remoteReadResult{queries: queries, sidecar: make([][]time.Duration, len(queries)), plain: make([][]time.Duration, len(queries))}
	sb0, pb0 := chunkBytes(sidecars), chunkBytes(plain)
	for rep := range reps {
		for i, pq := range queries {
			sides := []struct {
				stores []*fanout.Store
				out    *[][]time.Duration
			}{{sidecars, &res.sidecar}, {plain, &res.plain}}
			if (rep+i)%2 == 1 {
				sides[0], sides[1] = sides[1], sides[0]
			}
			var bodies [2][]byte
			for k, s := range sides {
				body, d, err := runOursInProcess(ctx, s.stores, pq)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", pq.Expr, err)
				}
				bodies[k] = body
				(*s.out)[i] = append((*s.out)[i], d)
			}
			if rep == 0 && string(bodies[0]) != string(bodies[1]) {
				res.mismatches = append(res.mismatches, fmt.Sprintf("remote read: %s answers differently over the sidecars and over remote read", pq.Expr))
			}
		}
	}
	res.sidecarMB = float64(chunkBytes(sidecars)-sb0) / 1e6 / float64(reps)
	res.plainMB = float64(chunkBytes(plain)-pb0) / 1e6 / float64(reps)
	return res, nil
}

func remoteReadRows(t *table, res *remoteReadResult, reps int) {
	var ps, ss []time.Duration
	var ratios []float64
	for i := range res.queries {
		p, s := median(res.plain[i]), median(res.sidecar[i])
		ps, ss = append(ps, p), append(ss, s)
		ratios = append(ratios, float64(p)/float64(s))
	}
	t.add(row{name: fmt.Sprintf("remote read: %d range queries, 9090 vs sidecar", len(res.queries)),
		ours: fmtDur(median(ps)), ref: fmtDur(median(ss)), ratio: fmt.Sprintf("%.2f", median(ratios)),
		note: fmt.Sprintf("in-process, both read the same TSDBs; ref = via the sidecar; %.1f vs %.1f MB of chunks per pass; %d runs each side",
			res.plainMB, res.sidecarMB, reps)})
}
