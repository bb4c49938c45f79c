package serve

import (
	"context"
	"slices"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/annotations"

	"github.com/globalquery/kubectl-globalquery/pkg/failure"
)

// SelectSeries returns the label sets of the series that match any of sels in [mint, maxt], as
// /api/v1/series does for several match[]: merged, sorted, each once. limit 0 means all.
func SelectSeries(ctx context.Context, q storage.Querier, sels [][]*labels.Matcher, mint, maxt int64, limit int) ([]labels.Labels, annotations.Annotations, error) {
	hints := &storage.SelectHints{Start: mint, End: maxt, Func: "series", Limit: limit}
	sets := make([]storage.SeriesSet, 0, len(sels))
	for _, ms := range sels {
		sets = append(sets, q.Select(ctx, true, hints, ms...))
	}
	set := storage.NewMergeSeriesSet(sets, 0, storage.ChainedSeriesMerge)
	var out []labels.Labels
	for set.Next() {
		out = append(out, set.At().Labels())
		if limit > 0 && len(out) >= limit {
			break
		}
	}
	if err := set.Err(); err != nil {
		return nil, nil, err
	}
	return out, set.Warnings(), nil
}

// Labels returns the values of the label name, or the label names when name is empty (no label
// is named ""), of the series that match any of sels: /api/v1/label/<name>/values and
// /api/v1/labels. The querier's time range applies. limit 0 means all.
func Labels(ctx context.Context, q storage.Querier, name string, sels [][]*labels.Matcher, limit int) ([]string, annotations.Annotations, error) {
	hints := &storage.LabelHints{Limit: limit}
	one := func(ms []*labels.Matcher) ([]string, annotations.Annotations, error) {
		var (
			vals  []string
			annos annotations.Annotations
			err   error
		)
		if name == "" {
			vals, annos, err = q.LabelNames(ctx, hints, ms...)
		} else {
			vals, annos, err = q.LabelValues(ctx, name, hints, ms...)
		}
		return vals, annos, err
	}
	if len(sels) == 0 {
		return one(nil)
	}
	var (
		all   []string
		warns annotations.Annotations
	)
	for _, ms := range sels {
		v, w, err := one(ms)
		if err != nil {
			return nil, nil, err
		}
		all = append(all, v...)
		warns.Merge(w)
	}
	slices.Sort(all)
	all = slices.Compact(all)
	if limit > 0 && len(all) > limit {
		all = all[:limit]
	}
	return all, warns, nil
}

// AnnotationStrings are a's warnings and infos, worded in w, as the metadata endpoints list them.
func AnnotationStrings(a annotations.Annotations, w failure.Words) []string {
	warns, infos := failure.WordAnnotations(a, w).AsStrings("", 0, 0)
	return append(warns, infos...)
}
