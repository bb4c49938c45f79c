// Package metadata reads the metric metadata of every store that serves the Metadata API and
// joins it as the Thanos Querier does: per metric, every distinct entry once.
package metadata

import (
	"context"
	"slices"

	"github.com/globalquery/kubectl-globalquery/pkg/fanout"
	"github.com/globalquery/kubectl-globalquery/pkg/store"
)

// Read asks every store whose Info lists the Metadata API, at once. A limit caps the number of
// metrics (negative: all; 0: none); the stores are taken in order and each one's metrics by
// name, so which metrics a cap keeps does not depend on which store answered first.
func Read(ctx context.Context, stores []*fanout.Store, req store.MetadataRequest, partial bool) (map[string][]store.Meta, []error, error) {
	serves := func(s *fanout.Store) bool {
		_, ok := s.Client.(store.MetadataClient)
		return ok && s.Info.MetricMetadata
	}
	answers, warnings, err := fanout.Each(ctx, stores, serves, partial,
		func(ctx context.Context, s *fanout.Store) (*store.MetadataResponse, []string, error) {
			resp, err := s.Client.(store.MetadataClient).MetricMetadata(ctx, &req)
			if err != nil {
				return nil, nil, err
			}
			return resp, resp.Warnings, nil
		})
	if err != nil {
		return nil, warnings, err
	}
	out := map[string][]store.Meta{}
	if req.Limit == 0 {
		return out, warnings, nil
	}
	for _, a := range answers {
		names := make([]string, 0, len(a.Value.Metrics))
		for n := range a.Value.Metrics {
			names = append(names, n)
		}
		slices.Sort(names)
		for _, n := range names {
			have, ok := out[n]
			if !ok && req.Limit > 0 && len(out) >= req.Limit {
				continue
			}
			for _, m := range a.Value.Metrics[n] {
				if !slices.Contains(have, m) {
					have = append(have, m)
				}
			}
			out[n] = have
		}
	}
	return out, warnings, nil
}
