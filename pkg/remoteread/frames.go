package remoteread

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// maxFrame bounds one frame of a streamed response. Prometheus cuts frames at about 1 MiB
// (--storage.remote.read-max-bytes-in-frame); one chunk larger than the cut can exceed it, so the
// bound is generous, as Prometheus's own reader's default (50 MiB) is.
const maxFrame = 50 << 20

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// frameReader reads the frames of a STREAMED_XOR_CHUNKS response: a uvarint length, a big-endian
// CRC-32 (Castagnoli) of the data, then the data.
type frameReader struct {
	r     *bufio.Reader
	limit uint64
}

func newFrameReader(r io.Reader) *frameReader {
	return &frameReader{r: bufio.NewReaderSize(r, 64<<10), limit: maxFrame}
}

// errCorrupt marks frames that arrived whole but are not what they claim to be.
var errCorrupt = errors.New("corrupted frame")

// next returns the next frame's data in a buffer of its own, which decoded series may alias. It
// returns io.EOF at a clean end between frames, and io.ErrUnexpectedEOF when the stream stops in
// the middle of one (a Prometheus that aborted the response).
func (f *frameReader) next() ([]byte, error) {
	size, err := binary.ReadUvarint(f.r)
	switch {
	case errors.Is(err, io.EOF):
		return nil, io.EOF
	case err != nil:
		return nil, fmt.Errorf("frame length: %w", err)
	case size > f.limit:
		return nil, fmt.Errorf("%w: %d bytes, more than the %d allowed", errCorrupt, size, f.limit)
	}
	var sum [4]byte
	if _, err := io.ReadFull(f.r, sum[:]); err != nil {
		return nil, fmt.Errorf("frame checksum: %w", unexpected(err))
	}
	data := make([]byte, size)
	if _, err := io.ReadFull(f.r, data); err != nil {
		return nil, fmt.Errorf("frame of %d bytes: %w", size, unexpected(err))
	}
	if got, want := crc32.Checksum(data, castagnoli), binary.BigEndian.Uint32(sum[:]); got != want {
		return nil, fmt.Errorf("%w: checksum %08x, header says %08x", errCorrupt, got, want)
	}
	return data, nil
}

func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// appendFrame frames data as Prometheus's ChunkedWriter does; the tests serve responses with it.
func appendFrame(dst, data []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(data)))
	dst = binary.BigEndian.AppendUint32(dst, crc32.Checksum(data, castagnoli))
	return append(dst, data...)
}
