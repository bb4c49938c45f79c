package storeapi

import (
	"context"

	"github.com/globalquery/kubectl-globalquery/internal/pbwire"
	"github.com/globalquery/kubectl-globalquery/pkg/store"
)

const methodExemplars = "/thanos.Exemplars/Exemplars"

// Field numbers of thanos.ExemplarsRequest, ExemplarsResponse, ExemplarData and Exemplar
// (pkg/exemplars/exemplarspb/rpc.proto).
const (
	xqQuery           = 1
	xqStart           = 2
	xqEnd             = 3
	xqPartialResponse = 4

	xrData    = 1
	xrWarning = 2

	xdSeriesLabels = 1
	xdExemplars    = 2

	exLabels = 1
	exValue  = 2
	exTs     = 3
)

type exemplarsRequest struct{ *store.ExemplarsRequest }

func (r exemplarsRequest) Marshal() []byte {
	b := pbwire.AppendString(nil, xqQuery, r.Query)
	b = pbwire.AppendInt(b, xqStart, r.Start)
	b = pbwire.AppendInt(b, xqEnd, r.End)
	return pbwire.AppendVarint(b, xqPartialResponse, strategyAbort)
}

// Exemplars reads the store's exemplars for a query (thanos.Exemplars/Exemplars), whole.
func (c *Client) Exemplars(ctx context.Context, r *store.ExemplarsRequest) (*store.ExemplarsResponse, error) {
	out := &store.ExemplarsResponse{}
	if err := c.readStream(ctx, methodExemplars, exemplarsRequest{r}, exemplarsFrame{out}); err != nil {
		return nil, err
	}
	return out, nil
}

type exemplarsFrame struct{ out *store.ExemplarsResponse }

func (f exemplarsFrame) Unmarshal(b []byte) error {
	it := pbwire.Iter{B: b}
	for it.Next() {
		switch it.Num {
		case xrData:
			if !it.WantBytes() {
				break
			}
			var d store.ExemplarData
			di := pbwire.Iter{B: it.Val}
			for di.Next() {
				switch di.Num {
				case xdSeriesLabels:
					d.SeriesLabels = labelSet(&di)
				case xdExemplars:
					if !di.WantBytes() {
						break
					}
					var e store.Exemplar
					ei := pbwire.Iter{B: di.Val}
					for ei.Next() {
						switch ei.Num {
						case exLabels:
							e.Labels = labelSet(&ei)
						case exValue:
							e.Value = double(&ei)
						case exTs:
							if ei.WantVarint() {
								e.Ts = int64(ei.U)
							}
						}
					}
					if ei.Err != nil {
						di.Err = ei.Err
					}
					d.Exemplars = append(d.Exemplars, e)
				}
			}
			if di.Err != nil {
				return di.Err
			}
			f.out.Data = append(f.out.Data, d)
		case xrWarning:
			if it.WantBytes() {
				f.out.Warnings = append(f.out.Warnings, string(it.Val))
			}
		}
	}
	return it.Err
}
