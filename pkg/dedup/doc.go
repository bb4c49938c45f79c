// Package dedup merges the series of HA replica pairs into one, answer for answer like Thanos Querier
// v0.42 with --query.replica-label and --deduplication.func=penalty (default) or chain.
//
// Input contract for equal answers, which the Group type carries: groups arrive sorted by
// labels.Compare, one per label set, replica labels removed. Thanos's proxy first collapses every
// series of one label set, from all stores, into a single series: it pools their chunks, drops a
// chunk whose data hash (xxhash64 of the chunk bytes, or the store-supplied hash) was already seen,
// and sorts the rest by MinTime, then MaxTime, then the raw chunk's encoding ascending, then its
// bytes descending (bytes.Compare), so store order never matters. NewOverlapSplit then cuts that
// list back into "replicas" without knowing where chunks came from: each chunk in turn joins the
// first lane whose last chunk's MaxTime is strictly below its MinTime, else opens a new lane; each
// lane, in creation order, becomes one series of the same labels. A lane can thus mix chunks of
// different real replicas, and lane order decides ties and counter adjustments, so a group's lanes
// come from Lanes, which does the same (SplitOverlapping over the proxy's merge), never one per
// store (gapfill, ours, is the one algorithm that reads each store on its own). Each lane is read
// as by NewLaneIterator: chunks concatenated (for AppliesCounterResets functions, as a reset-free
// running total without stale markers) and clamped to the querier's [mint, maxt]. NewSeriesSet
// then merges each group's lanes.
package dedup
