package store

import "context"

// Meta is what a target says of a metric: its type, help and unit.
type Meta struct {
	Type, Help, Unit string
}

// MetadataRequest asks for the metadata of one metric, or of all when Metric is empty; Limit
// caps the number of metrics (negative: no cap).
type MetadataRequest struct {
	Metric string
	Limit  int
}

// MetadataResponse is a store's metadata by metric name, and its warnings.
type MetadataResponse struct {
	Metrics  map[string][]Meta
	Warnings []string
}

// MetadataClient is a store that serves the Metadata API (Info says which do).
type MetadataClient interface {
	MetricMetadata(ctx context.Context, r *MetadataRequest) (*MetadataResponse, error)
}
