package pbwire

import (
	"github.com/prometheus/prometheus/model/labels"
	"google.golang.org/protobuf/encoding/protowire"
)

// The Append functions follow proto3: a zero value is not written.

// AppendVarint appends field f as a varint.
func AppendVarint(b []byte, f Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, f, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

// AppendInt appends an int64 field.
func AppendInt(b []byte, f Number, v int64) []byte { return AppendVarint(b, f, uint64(v)) }

// AppendBool appends a bool field.
func AppendBool(b []byte, f Number, v bool) []byte {
	if !v {
		return b
	}
	return AppendVarint(b, f, 1)
}

// AppendString appends a string field.
func AppendString(b []byte, f Number, s string) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, f, protowire.BytesType)
	return protowire.AppendString(b, s)
}

// AppendStrings appends a repeated string field, empty elements included.
func AppendStrings(b []byte, f Number, ss []string) []byte {
	for _, s := range ss {
		b = protowire.AppendTag(b, f, protowire.BytesType)
		b = protowire.AppendString(b, s)
	}
	return b
}

// AppendBytes appends a length-delimited field, typically an embedded message, even when empty:
// an empty message is still a set field.
func AppendBytes(b []byte, f Number, m []byte) []byte {
	b = protowire.AppendTag(b, f, protowire.BytesType)
	return protowire.AppendBytes(b, m)
}

// Field numbers shared by thanos.LabelMatcher and prometheus.LabelMatcher.
const (
	matcherType  = 1
	matcherName  = 2
	matcherValue = 3
)

// AppendMatchers appends ms as repeated field f of LabelMatcher messages. The Thanos StoreAPI
// and Prometheus remote read number both the fields and the match types (EQ, NEQ, RE, NRE) as
// labels.MatchType does, so one encoding serves both.
func AppendMatchers(b []byte, f Number, ms []*labels.Matcher) []byte {
	for _, m := range ms {
		var mb []byte
		mb = AppendVarint(mb, matcherType, uint64(m.Type))
		mb = AppendString(mb, matcherName, m.Name)
		mb = AppendString(mb, matcherValue, m.Value)
		b = AppendBytes(b, f, mb)
	}
	return b
}

// AppendPackedVarints appends a packed repeated varint field, the proto3 encoding of repeated
// enums and integers; nothing when vs is empty.
func AppendPackedVarints(b []byte, f Number, vs ...uint64) []byte {
	if len(vs) == 0 {
		return b
	}
	var p []byte
	for _, v := range vs {
		p = protowire.AppendVarint(p, v)
	}
	return AppendBytes(b, f, p)
}

// Field numbers shared by thanos.Label and prometheus.Label.
const (
	labelName  = 1
	labelValue = 2
)

// DecodeLabel reads one Label message of the Thanos StoreAPI or Prometheus remote read, which
// number its fields alike. Name and value alias b (see String).
func DecodeLabel(b []byte) (labels.Label, error) {
	var l labels.Label
	it := Iter{B: b}
	for it.Next() {
		switch it.Num {
		case labelName:
			if it.WantBytes() {
				l.Name = String(it.Val)
			}
		case labelValue:
			if it.WantBytes() {
				l.Value = String(it.Val)
			}
		}
	}
	return l, it.Err
}
