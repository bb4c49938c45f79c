// Package pbwire reads and writes the protobuf wire format by hand, for clients that need only a
// few fields of a message and want them decoded straight into their own types without a copy.
package pbwire

import (
	"errors"
	"fmt"
	"unsafe"

	"google.golang.org/protobuf/encoding/protowire"
)

// Number and Type are protowire's, re-exported so callers need not import both packages.
type (
	Number = protowire.Number
	Type   = protowire.Type
)

const (
	VarintType  = protowire.VarintType
	Fixed32Type = protowire.Fixed32Type
	Fixed64Type = protowire.Fixed64Type
	BytesType   = protowire.BytesType
)

// ErrTruncated is wrapped by every error about input that is not a well-formed message.
var ErrTruncated = errors.New("truncated or malformed protobuf message")

// Iter walks the fields of one message without allocating. Use it as
//
//	it := pbwire.Iter{B: b}
//	for it.Next() { switch it.Num { ... } }
//	if it.Err != nil { ... }
//
// Fields of unknown numbers are skipped whatever their wire type, so newer peers can add fields.
type Iter struct {
	B   []byte // what is left to read
	Num Number // the current field's number
	Typ Type   // the current field's wire type
	Val []byte // BytesType payload, aliasing B
	U   uint64 // VarintType, Fixed64Type and Fixed32Type payload
	Err error  // set when the input is malformed or a Want check fails
}

// Next advances to the next field; false at the end of the message or on an error.
func (it *Iter) Next() bool {
	if len(it.B) == 0 || it.Err != nil {
		return false
	}
	num, typ, n := protowire.ConsumeTag(it.B)
	if n < 0 {
		it.Err = ErrTruncated
		return false
	}
	it.B = it.B[n:]
	it.Num, it.Typ = num, typ
	it.Val, it.U = nil, 0
	switch typ {
	case protowire.VarintType:
		it.U, n = protowire.ConsumeVarint(it.B)
	case protowire.BytesType:
		it.Val, n = protowire.ConsumeBytes(it.B)
	case protowire.Fixed64Type:
		it.U, n = protowire.ConsumeFixed64(it.B)
	case protowire.Fixed32Type:
		var v uint32
		v, n = protowire.ConsumeFixed32(it.B)
		it.U = uint64(v)
	default:
		// Groups are skipped whole; reserved wire types 6 and 7 fail here.
		n = protowire.ConsumeFieldValue(num, typ, it.B)
	}
	if n < 0 {
		it.Err = fmt.Errorf("field %d: %w", num, ErrTruncated)
		return false
	}
	it.B = it.B[n:]
	return true
}

// WantBytes reports whether the current field is length-delimited, setting Err when not: a known
// field with the wrong wire type is an error, not a silently empty value.
func (it *Iter) WantBytes() bool { return it.want(protowire.BytesType, "length-delimited") }

// WantVarint is WantBytes for a varint field.
func (it *Iter) WantVarint() bool { return it.want(protowire.VarintType, "varint") }

func (it *Iter) want(t Type, name string) bool {
	if it.Typ != t {
		it.Err = fmt.Errorf("field %d: wire type %d, want %s", it.Num, it.Typ, name)
		return false
	}
	return true
}

// String returns b as a string without copying. The string is valid only while b is neither
// written nor reused: decoders may use it for lookups and for labels.ScratchBuilder (whose
// Labels copies), and must copy (string([]byte(s)) or strings.Clone) whatever outlives the
// buffer the message was read into, such as a gRPC receive buffer that goes back to its pool.
func String(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
