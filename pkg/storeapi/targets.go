package storeapi

import (
	"context"

	"github.com/globalquery/kubectl-globalquery/internal/pbwire"
	"github.com/globalquery/kubectl-globalquery/pkg/store"
)

const methodTargets = "/thanos.Targets/Targets"

// Field numbers of thanos.TargetsRequest, TargetsResponse, TargetDiscovery, ActiveTarget and
// DroppedTarget (pkg/targets/targetspb/rpc.proto).
const (
	tqState           = 1
	tqPartialResponse = 2

	trTargets = 1
	trWarning = 2

	tdActive  = 1
	tdDropped = 2

	atDiscoveredLabels   = 1
	atLabels             = 2
	atScrapePool         = 3
	atScrapeURL          = 4
	atGlobalURL          = 5
	atLastError          = 6
	atLastScrape         = 7
	atLastScrapeDuration = 8
	atHealth             = 9

	dtDiscoveredLabels = 1
)

type targetsRequest store.TargetState

func (r targetsRequest) Marshal() []byte {
	b := pbwire.AppendVarint(nil, tqState, uint64(r))
	return pbwire.AppendVarint(b, tqPartialResponse, strategyAbort)
}

// Targets reads the store's scrape targets (thanos.Targets/Targets), whole.
func (c *Client) Targets(ctx context.Context, state store.TargetState) (*store.TargetsResponse, error) {
	out := &store.TargetsResponse{}
	if err := c.readStream(ctx, methodTargets, targetsRequest(state), targetsFrame{out}); err != nil {
		return nil, err
	}
	return out, nil
}

type targetsFrame struct{ out *store.TargetsResponse }

func (f targetsFrame) Unmarshal(b []byte) error {
	it := pbwire.Iter{B: b}
	for it.Next() {
		switch it.Num {
		case trTargets:
			if !it.WantBytes() {
				break
			}
			td := pbwire.Iter{B: it.Val}
			for td.Next() {
				switch td.Num {
				case tdActive:
					if td.WantBytes() {
						f.out.Active = append(f.out.Active, decodeActiveTarget(&td))
					}
				case tdDropped:
					if td.WantBytes() {
						f.out.Dropped = append(f.out.Dropped, decodeDroppedTarget(&td))
					}
				}
			}
			if td.Err != nil {
				return td.Err
			}
		case trWarning:
			if it.WantBytes() {
				f.out.Warnings = append(f.out.Warnings, string(it.Val))
			}
		}
	}
	return it.Err
}

func decodeActiveTarget(f *pbwire.Iter) store.ActiveTarget {
	var t store.ActiveTarget
	it := pbwire.Iter{B: f.Val}
	for it.Next() {
		switch it.Num {
		case atDiscoveredLabels:
			t.DiscoveredLabels = labelSet(&it)
		case atLabels:
			t.Labels = labelSet(&it)
		case atScrapePool:
			t.ScrapePool = text(&it)
		case atScrapeURL:
			t.ScrapeURL = text(&it)
		case atGlobalURL:
			t.GlobalURL = text(&it)
		case atLastError:
			t.LastError = text(&it)
		case atLastScrape:
			t.LastScrape = timestamp(&it)
		case atLastScrapeDuration:
			t.LastScrapeDuration = double(&it)
		case atHealth:
			if it.WantVarint() {
				t.Health = store.TargetHealth(it.U)
			}
		}
	}
	if it.Err != nil {
		f.Err = it.Err
	}
	return t
}

func decodeDroppedTarget(f *pbwire.Iter) store.DroppedTarget {
	var t store.DroppedTarget
	it := pbwire.Iter{B: f.Val}
	for it.Next() {
		if it.Num == dtDiscoveredLabels {
			t.DiscoveredLabels = labelSet(&it)
		}
	}
	if it.Err != nil {
		f.Err = it.Err
	}
	return t
}
