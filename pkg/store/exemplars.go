package store

import (
	"context"

	"github.com/prometheus/prometheus/model/labels"
)

// Exemplar is one exemplar of a series: its own labels (a trace ID, say), value and time (ms).
type Exemplar struct {
	Labels labels.Labels
	Value  float64
	Ts     int64
}

// ExemplarData is a series and its exemplars.
type ExemplarData struct {
	SeriesLabels labels.Labels
	Exemplars    []Exemplar
}

// ExemplarsRequest asks for the exemplars of the series a query selects in [Start, End] (ms).
type ExemplarsRequest struct {
	Query      string
	Start, End int64
}

// ExemplarsResponse is a store's exemplars and warnings.
type ExemplarsResponse struct {
	Data     []ExemplarData
	Warnings []string
}

// ExemplarsClient is a store that serves the Exemplars API (Info says which do).
type ExemplarsClient interface {
	Exemplars(ctx context.Context, r *ExemplarsRequest) (*ExemplarsResponse, error)
}
