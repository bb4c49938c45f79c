package storeapi

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/globalquery/kubectl-globalquery/internal/pbwire"
)

// Field decoders shared by the messages of the Rules and Targets APIs. Each sets it.Err on a
// malformed field, which ends the walk of the message that holds it.

const (
	tsSeconds = 1
	tsNanos   = 2
)

// text copies a string field out of the receive buffer.
func text(it *pbwire.Iter) string {
	if !it.WantBytes() {
		return ""
	}
	return strings.Clone(pbwire.String(it.Val))
}

func double(it *pbwire.Iter) float64 {
	if it.Typ != pbwire.Fixed64Type {
		it.Err = fmt.Errorf("field %d: wire type %d, want fixed64", it.Num, it.Typ)
		return 0
	}
	return math.Float64frombits(it.U)
}

func timestamp(it *pbwire.Iter) time.Time {
	if !it.WantBytes() {
		return time.Time{}
	}
	var sec, nsec int64
	ts := pbwire.Iter{B: it.Val}
	for ts.Next() {
		switch ts.Num {
		case tsSeconds:
			if ts.WantVarint() {
				sec = int64(ts.U)
			}
		case tsNanos:
			if ts.WantVarint() {
				nsec = int64(int32(ts.U))
			}
		}
	}
	if ts.Err != nil {
		it.Err = ts.Err
	}
	return time.Unix(sec, nsec).UTC()
}

// labelSet decodes a ZLabelSet, sorted.
func labelSet(it *pbwire.Iter) labels.Labels {
	if !it.WantBytes() {
		return labels.EmptyLabels()
	}
	var lb labels.ScratchBuilder
	z := pbwire.Iter{B: it.Val}
	for z.Next() {
		if z.Num != zlsLabels || !z.WantBytes() {
			continue
		}
		l, err := pbwire.DecodeLabel(z.Val)
		if err != nil {
			it.Err = err
			return labels.EmptyLabels()
		}
		lb.Add(strings.Clone(l.Name), strings.Clone(l.Value))
	}
	if z.Err != nil {
		it.Err = z.Err
	}
	lb.Sort()
	return lb.Labels()
}
