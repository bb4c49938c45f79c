package remoteread

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/globalquery/kubectl-globalquery/pkg/store"
)

// stream reads a STREAMED_XOR_CHUNKS response frame by frame and yields the series as a sidecar
// would: external labels attached, replica labels dropped, sorted by those labels.
type stream struct {
	body   io.ReadCloser
	fr     *frameReader
	cancel context.CancelFunc
	rl     *relabel
	skip   bool // the caller wants label sets only

	pending *item // the newest series; the next frame may continue it
	order   reorder
	cur     *store.Series
	last    labels.Labels
	lb      labels.ScratchBuilder
	frames  int
	err     error
	done    bool
}

func (s *stream) Next() bool {
	for {
		if len(s.order.ready) > 0 {
			next := s.order.ready[0]
			s.order.ready = s.order.ready[1:]
			if s.cur != nil && labels.Compare(next.Labels, s.last) < 0 {
				s.fail(fmt.Errorf("series %s would follow %s: this Prometheus stores series that carry its external or replica labels themselves, "+
					"which breaks the order the merge needs; read it through a Thanos sidecar, or query with {no-dedup}", next.Labels, s.last))
				return false
			}
			s.cur, s.last = next, next.Labels
			return true
		}
		if s.done {
			return false
		}
		s.read()
	}
}

// read takes one frame and hands what it completes to the reorder stage.
func (s *stream) read() {
	data, err := s.fr.next()
	if errors.Is(err, io.EOF) {
		if s.pending != nil {
			s.order.push(s.pending)
			s.pending = nil
		}
		s.order.flush()
		s.finish()
		return
	}
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = fmt.Errorf("remote read answer cut short after %d frames (Prometheus aborted it, or the tunnel dropped): %w", s.frames, err)
		} else {
			err = fmt.Errorf("remote read answer, frame %d: %w", s.frames+1, err)
		}
		s.fail(err)
		return
	}
	s.frames++
	got, err := decodeChunkedReadResponse(data, &s.lb)
	if err != nil {
		s.fail(fmt.Errorf("remote read answer, frame %d: %w", s.frames, err))
		return
	}
	for _, rs := range got {
		if s.pending != nil && labels.Equal(s.pending.got, rs.labels) {
			if !s.skip {
				s.pending.series.Chunks = append(s.pending.series.Chunks, rs.chunks...)
			}
			continue
		}
		key := s.rl.key(rs.labels)
		if s.pending != nil {
			// The reorder stage relies on the stored order; check it rather than trust it.
			if labels.Compare(key, s.pending.key) <= 0 {
				s.fail(fmt.Errorf("remote read answer: series %s after %s, not in the order Prometheus streams", rs.labels, s.pending.got))
				return
			}
			s.order.push(s.pending)
		}
		ser := &store.Series{Labels: s.rl.final(rs.labels)}
		if !s.skip {
			ser.Chunks = rs.chunks
		}
		s.pending = &item{got: rs.labels, key: key, series: ser}
	}
}

func (s *stream) fail(err error) {
	s.err = err
	s.order.ready = nil
	s.finish()
}

func (s *stream) finish() {
	if !s.done {
		s.done = true
		s.cancel()
		s.body.Close()
	}
}

func (s *stream) At() *store.Series  { return s.cur }
func (s *stream) Err() error         { return s.err }
func (s *stream) Warnings() []string { return nil }
func (s *stream) Frames() int        { return s.frames }

// Close abandons the answer; closing the body ends the request on the Prometheus side too.
func (s *stream) Close() {
	s.order.ready = nil
	s.finish()
}

// empty is the answer of a Prometheus whose external labels rule the selection out.
type empty struct{}

func (empty) Next() bool         { return false }
func (empty) At() *store.Series  { return nil }
func (empty) Err() error         { return nil }
func (empty) Warnings() []string { return nil }
func (empty) Close()             {}
func (empty) Frames() int        { return 0 }
