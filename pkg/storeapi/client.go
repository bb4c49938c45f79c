// Package storeapi is a client of the Thanos StoreAPI (gRPC services thanos.Store and
// thanos.info.Info), the API that Thanos sidecars, store gateways and queriers serve; Store adapts
// it to the store.StoreClient the fanout reads.
//
// The messages are encoded and decoded by hand from the published field numbers rather than
// generated: the client needs only a handful of fields, decoding straight into Prometheus
// label sets and chunk bytes avoids a copy of every series, and it keeps Thanos's gogoproto
// types and their Prometheus fork out of our dependency graph.
package storeapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"

	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"

	"github.com/globalquery/kubectl-globalquery/pkg/store"
)

const (
	methodInfo        = "/thanos.info.Info/Info"
	methodSeries      = "/thanos.Store/Series"
	methodLabelNames  = "/thanos.Store/LabelNames"
	methodLabelValues = "/thanos.Store/LabelValues"
)

// rawCodec passes pre-encoded requests through and hands response bytes to the message's own
// decoder. It registers under the name "proto" so that servers see the usual content type.
type rawCodec struct{}

type marshaler interface{ Marshal() []byte }
type unmarshaler interface{ Unmarshal([]byte) error }

type rawBytes []byte

func (r rawBytes) Marshal() []byte { return r }

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	m, ok := v.(marshaler)
	if !ok {
		return nil, fmt.Errorf("storeapi codec: cannot marshal %T", v)
	}
	return mem.BufferSlice{mem.SliceBuffer(m.Marshal())}, nil
}

// Unmarshal decodes straight from gRPC's pooled receive buffers, which go back to the pool when
// it returns: decoders copy what they keep (labels, chunk bytes, strings). A message that spans
// several buffers is joined in a pooled buffer too, so a stream of hundreds of thousands of series
// leaves no per-message garbage for the collector to chase while the engine's heap grows.
func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	u, ok := v.(unmarshaler)
	if !ok {
		return fmt.Errorf("storeapi codec: cannot unmarshal into %T", v)
	}
	buf := data.MaterializeToBuffer(mem.DefaultBufferPool())
	defer buf.Free()
	return u.Unmarshal(buf.ReadOnlyData())
}

func (rawCodec) Name() string { return "proto" }

var _ encoding.CodecV2 = rawCodec{}

// callOptions are the options every StoreAPI call needs: our codec, and no receive limit
// since one series frame with hours of chunks can exceed gRPC's 4 MiB default.
func callOptions() []grpc.CallOption {
	return []grpc.CallOption{grpc.ForceCodecV2(rawCodec{}), grpc.MaxCallRecvMsgSize(math.MaxInt32)}
}

// Client speaks the StoreAPI over one gRPC connection.
type Client struct {
	conn grpc.ClientConnInterface
}

// NewClient wraps an established gRPC connection.
func NewClient(conn grpc.ClientConnInterface) *Client { return &Client{conn: conn} }

// ResetBackoff makes a connection that failed reconnect at once on its next call instead of
// after gRPC's reconnect backoff, which grows to minutes while a store is down.
func (c *Client) ResetBackoff() {
	if r, ok := c.conn.(interface{ ResetConnectBackoff() }); ok {
		r.ResetConnectBackoff()
	}
}

// Info asks the store for its external label sets and time range (thanos.info.Info/Info;
// Store.Info no longer exists in current Thanos).
func (c *Client) Info(ctx context.Context) (*store.Info, error) {
	inf := &store.Info{}
	if err := c.conn.Invoke(ctx, methodInfo, rawBytes(nil), infoResponse{inf}, callOptions()...); err != nil {
		return nil, err
	}
	return inf, nil
}

type labelNamesReq struct{ *store.LabelsRequest }

func (r labelNamesReq) Marshal() []byte { return marshalLabelsRequest(r.LabelsRequest, false) }

type labelValuesReq struct{ *store.LabelsRequest }

func (r labelValuesReq) Marshal() []byte { return marshalLabelsRequest(r.LabelsRequest, true) }

// LabelNames returns the label names the store knows for the request's matchers and range.
func (c *Client) LabelNames(ctx context.Context, r *store.LabelsRequest) (*store.LabelsResponse, error) {
	resp := &store.LabelsResponse{}
	if err := c.conn.Invoke(ctx, methodLabelNames, labelNamesReq{r}, labelsResponse{resp}, callOptions()...); err != nil {
		return nil, err
	}
	return resp, nil
}

// LabelValues returns the values of r.Label.
func (c *Client) LabelValues(ctx context.Context, r *store.LabelsRequest) (*store.LabelsResponse, error) {
	resp := &store.LabelsResponse{}
	if err := c.conn.Invoke(ctx, methodLabelValues, labelValuesReq{r}, labelsResponse{resp}, callOptions()...); err != nil {
		return nil, err
	}
	return resp, nil
}

var seriesStreamDesc = &grpc.StreamDesc{StreamName: "Series", ServerStreams: true}

// SeriesStream iterates over the series of one Series call, frame by frame.
type SeriesStream struct {
	stream   grpc.ClientStream
	cancel   context.CancelFunc
	frame    SeriesResponse
	pos      int
	cur      *store.Series
	warnings []string
	err      error
	done     bool
	frames   int
}

// Series starts a Series call. The stream must be drained or closed.
func (c *Client) Series(ctx context.Context, r *store.SeriesRequest) (*SeriesStream, error) {
	ctx, cancel := context.WithCancel(ctx)
	st, err := c.conn.NewStream(ctx, seriesStreamDesc, methodSeries, callOptions()...)
	if err != nil {
		cancel()
		return nil, err
	}
	if err := st.SendMsg(seriesRequest{r}); err != nil {
		cancel()
		return nil, err
	}
	if err := st.CloseSend(); err != nil {
		cancel()
		return nil, err
	}
	return &SeriesStream{stream: st, cancel: cancel}, nil
}

// Next advances to the next series, reading frames as needed.
func (s *SeriesStream) Next() bool {
	for {
		if s.pos < len(s.frame.Series) {
			s.cur = &s.frame.Series[s.pos]
			s.pos++
			return true
		}
		if s.done {
			return false
		}
		// A fresh frame for every message: series handed out earlier keep pointing into it.
		s.frame = SeriesResponse{lb: s.frame.lb}
		s.pos = 0
		if err := s.stream.RecvMsg(&s.frame); err != nil {
			s.done = true
			s.cancel()
			if !errors.Is(err, io.EOF) {
				s.err = err
			}
			return false
		}
		s.frames++
		s.warnings = append(s.warnings, s.frame.Warnings...)
	}
}

// Frames is how many response messages were received so far.
func (s *SeriesStream) Frames() int { return s.frames }

// At returns the current series. It stays valid after Next.
func (s *SeriesStream) At() *store.Series { return s.cur }

// Err is the error that ended the stream, if any.
func (s *SeriesStream) Err() error { return s.err }

// Warnings are the warning frames received so far.
func (s *SeriesStream) Warnings() []string { return s.warnings }

// Close abandons the stream.
func (s *SeriesStream) Close() {
	s.done = true
	s.cancel()
}

// Store is a store.StoreClient over a StoreAPI gRPC connection.
type Store struct{ *Client }

var _ store.StoreClient = Store{}

// Series starts a Series call.
func (g Store) Series(ctx context.Context, r *store.SeriesRequest) (store.SeriesStream, error) {
	st, err := g.Client.Series(ctx, r)
	if err != nil {
		// Not st: a nil *SeriesStream in an interface would not compare equal to nil.
		return nil, err
	}
	return st, nil
}

// readStream makes a server-streaming call and hands every frame to frame.Unmarshal until the
// stream ends: the shape of every StoreAPI-family call that is read whole.
func (c *Client) readStream(ctx context.Context, method string, req marshaler, frame unmarshaler) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := c.conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, method, callOptions()...)
	if err != nil {
		return err
	}
	if err := st.SendMsg(req); err != nil {
		return err
	}
	if err := st.CloseSend(); err != nil {
		return err
	}
	for {
		if err := st.RecvMsg(frame); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}
