package pbwire

import (
	"errors"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"google.golang.org/protobuf/encoding/protowire"
)

func TestIterFields(t *testing.T) {
	var b []byte
	b = AppendInt(b, 1, 42)
	b = AppendString(b, 2, "x")
	b = protowire.AppendTag(b, 3, protowire.Fixed64Type)
	b = protowire.AppendFixed64(b, 7)
	b = protowire.AppendTag(b, 4, protowire.Fixed32Type)
	b = protowire.AppendFixed32(b, 9)
	it := Iter{B: b}
	var got []uint64
	for it.Next() {
		got = append(got, uint64(it.Num), it.U)
		if it.Num == 2 && String(it.Val) != "x" {
			t.Fatalf("field 2 = %q", it.Val)
		}
	}
	if it.Err != nil {
		t.Fatal(it.Err)
	}
	want := []uint64{1, 42, 2, 0, 3, 7, 4, 9}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}

func TestIterMalformed(t *testing.T) {
	for name, b := range map[string][]byte{
		"truncated tag":    {0x80},
		"truncated varint": {0x08, 0x80},
		"overlong length":  {0x12, 0x05, 'a'},
		"wire type 6":      {0x0e},
		"wire type 7":      {0x0f, 0x00},
		"short fixed64":    {0x09, 1, 2},
	} {
		it := Iter{B: b}
		for it.Next() {
		}
		if !errors.Is(it.Err, ErrTruncated) {
			t.Errorf("%s: err = %v, want ErrTruncated", name, it.Err)
		}
	}
}

func TestIterWant(t *testing.T) {
	it := Iter{B: AppendInt(nil, 1, 3)}
	if !it.Next() || it.WantBytes() || it.Err == nil {
		t.Fatalf("varint accepted as bytes: %v", it.Err)
	}
	if it.Next() {
		t.Fatal("Next after an error")
	}
}

func TestAppendMatchers(t *testing.T) {
	m := labels.MustNewMatcher(labels.MatchNotRegexp, "job", "a.*")
	it := Iter{B: AppendMatchers(nil, 3, []*labels.Matcher{m})}
	if !it.Next() || it.Num != 3 || !it.WantBytes() {
		t.Fatalf("no matcher field: %v", it.Err)
	}
	in := Iter{B: it.Val}
	var typ uint64
	var name, value string
	for in.Next() {
		switch in.Num {
		case 1:
			typ = in.U
		case 2:
			name = String(in.Val)
		case 3:
			value = String(in.Val)
		}
	}
	if in.Err != nil || typ != 3 || name != "job" || value != "a.*" {
		t.Fatalf("got %d %q %q %v", typ, name, value, in.Err)
	}
}

func BenchmarkIter(b *testing.B) {
	var msg []byte
	for i := 0; i < 16; i++ {
		msg = AppendString(msg, 1, "label_name")
		msg = AppendInt(msg, 2, int64(i))
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		it := Iter{B: msg}
		for it.Next() {
		}
	}
}
