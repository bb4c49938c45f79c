// Package exemplars reads the exemplars of every store that serves the Exemplars API and joins
// them as the Thanos Querier does: per series (replica labels removed), every distinct
// exemplar once, by time.
package exemplars

import (
	"cmp"
	"context"
	"slices"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/globalquery/kubectl-globalquery/pkg/fanout"
	"github.com/globalquery/kubectl-globalquery/pkg/store"
)

// Read asks every store whose Info lists the Exemplars API, at once.
func Read(ctx context.Context, stores []*fanout.Store, req store.ExemplarsRequest, partial bool, replicaLabels []string) ([]store.ExemplarData, []error, error) {
	serves := func(s *fanout.Store) bool {
		_, ok := s.Client.(store.ExemplarsClient)
		return ok && s.Info.Exemplars
	}
	answers, warnings, err := fanout.Each(ctx, stores, serves, partial,
		func(ctx context.Context, s *fanout.Store) (*store.ExemplarsResponse, []string, error) {
			resp, err := s.Client.(store.ExemplarsClient).Exemplars(ctx, &req)
			if err != nil {
				return nil, nil, err
			}
			return resp, resp.Warnings, nil
		})
	if err != nil {
		return nil, warnings, err
	}
	bySeries := map[string]*store.ExemplarData{}
	for _, a := range answers {
		for _, d := range a.Value.Data {
			if len(d.Exemplars) == 0 {
				continue
			}
			if len(replicaLabels) > 0 {
				d.SeriesLabels = labels.NewBuilder(d.SeriesLabels).Del(replicaLabels...).Labels()
			}
			k := d.SeriesLabels.String()
			if have, ok := bySeries[k]; ok {
				have.Exemplars = append(have.Exemplars, d.Exemplars...)
				continue
			}
			d := d
			bySeries[k] = &d
		}
	}
	out := make([]store.ExemplarData, 0, len(bySeries))
	for _, d := range bySeries {
		slices.SortFunc(d.Exemplars, compare)
		d.Exemplars = slices.CompactFunc(d.Exemplars, func(a, b store.Exemplar) bool { return compare(a, b) == 0 })
		out = append(out, *d)
	}
	slices.SortFunc(out, func(a, b store.ExemplarData) int { return labels.Compare(a.SeriesLabels, b.SeriesLabels) })
	return out, warnings, nil
}

func compare(a, b store.Exemplar) int {
	return cmp.Or(cmp.Compare(a.Ts, b.Ts), labels.Compare(a.Labels, b.Labels), cmp.Compare(a.Value, b.Value))
}
