package storeapi

import (
	"context"

	"github.com/globalquery/kubectl-globalquery/internal/pbwire"
	"github.com/globalquery/kubectl-globalquery/pkg/store"
)

const methodMetadata = "/thanos.Metadata/MetricMetadata"

// Field numbers of thanos.MetricMetadataRequest, MetricMetadataResponse, MetricMetadata (a map,
// whose entries are key 1, value 2), MetricMetadataEntry and Meta (pkg/metadata/metadatapb).
const (
	mqMetric          = 1
	mqLimit           = 2
	mqPartialResponse = 3

	mrMetadata = 1
	mrWarning  = 2

	mmEntries = 1
	mapKey    = 1
	mapValue  = 2
	meMetas   = 2
	metaType  = 1
	metaHelp  = 2
	metaUnit  = 3
)

type metadataRequest struct{ *store.MetadataRequest }

func (r metadataRequest) Marshal() []byte {
	b := pbwire.AppendString(nil, mqMetric, r.Metric)
	// int32 on the wire: a negative limit is sign-extended, as protobuf encodes int32.
	b = pbwire.AppendInt(b, mqLimit, int64(int32(r.Limit)))
	return pbwire.AppendVarint(b, mqPartialResponse, strategyAbort)
}

// MetricMetadata reads the store's metric metadata (thanos.Metadata/MetricMetadata), whole.
func (c *Client) MetricMetadata(ctx context.Context, r *store.MetadataRequest) (*store.MetadataResponse, error) {
	out := &store.MetadataResponse{Metrics: map[string][]store.Meta{}}
	if err := c.readStream(ctx, methodMetadata, metadataRequest{r}, metadataFrame{out}); err != nil {
		return nil, err
	}
	return out, nil
}

type metadataFrame struct{ out *store.MetadataResponse }

func (f metadataFrame) Unmarshal(b []byte) error {
	it := pbwire.Iter{B: b}
	for it.Next() {
		switch it.Num {
		case mrMetadata:
			if !it.WantBytes() {
				break
			}
			mm := pbwire.Iter{B: it.Val}
			for mm.Next() {
				if mm.Num == mmEntries && mm.WantBytes() {
					f.entry(&mm)
				}
			}
			if mm.Err != nil {
				return mm.Err
			}
		case mrWarning:
			if it.WantBytes() {
				f.out.Warnings = append(f.out.Warnings, string(it.Val))
			}
		}
	}
	return it.Err
}

// entry decodes one map entry: a metric name and its metas.
func (f metadataFrame) entry(mm *pbwire.Iter) {
	var (
		name  string
		metas []store.Meta
	)
	e := pbwire.Iter{B: mm.Val}
	for e.Next() {
		switch e.Num {
		case mapKey:
			name = text(&e)
		case mapValue:
			if !e.WantBytes() {
				break
			}
			v := pbwire.Iter{B: e.Val}
			for v.Next() {
				if v.Num != meMetas || !v.WantBytes() {
					continue
				}
				var m store.Meta
				mi := pbwire.Iter{B: v.Val}
				for mi.Next() {
					switch mi.Num {
					case metaType:
						m.Type = text(&mi)
					case metaHelp:
						m.Help = text(&mi)
					case metaUnit:
						m.Unit = text(&mi)
					}
				}
				if mi.Err != nil {
					e.Err = mi.Err
				}
				metas = append(metas, m)
			}
			if v.Err != nil {
				e.Err = v.Err
			}
		}
	}
	if e.Err != nil {
		mm.Err = e.Err
		return
	}
	f.out.Metrics[name] = append(f.out.Metrics[name], metas...)
}
