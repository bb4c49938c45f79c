package frontend

import (
	"bytes"
	"container/list"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
)

// extent is a cached piece of one query's result: its points at Start, Start+step, … End (ms).
// A series missing from it had no points there.
type extent struct {
	Start, End int64
	Series     []cachedSeries
}

// cachedSeries is promql.Series in a form gob can write whatever the labels' build-time layout.
type cachedSeries struct {
	Labels     []labels.Label
	Floats     []promql.FPoint
	Histograms []promql.HPoint
}

func toExtent(start, end int64, m promql.Matrix) extent {
	e := extent{Start: start, End: end, Series: make([]cachedSeries, len(m))}
	for i, s := range m {
		var ls []labels.Label
		s.Metric.Range(func(l labels.Label) { ls = append(ls, l) })
		// Copies: the cached extent must not change when the caller reuses its result.
		e.Series[i] = cachedSeries{Labels: ls, Floats: slices.Clone(s.Floats), Histograms: slices.Clone(s.Histograms)}
	}
	return e
}

func (e extent) matrix() promql.Matrix {
	m := make(promql.Matrix, len(e.Series))
	for i, s := range e.Series {
		m[i] = promql.Series{Metric: labels.New(s.Labels...), Floats: s.Floats, Histograms: s.Histograms}
	}
	return m
}

func (e extent) size() int64 {
	n := int64(64)
	for _, s := range e.Series {
		n += int64(len(s.Floats))*16 + int64(len(s.Histograms))*128
		for _, l := range s.Labels {
			n += int64(len(l.Name) + len(l.Value) + 32)
		}
	}
	return n
}

// ResultsCache keeps the extents of split range queries in memory, least recently used first
// out, and, with a directory, on disk so that they outlive the process. Entries are only ever
// added to, never corrected: only results old enough to be final are put in.
type ResultsCache struct {
	maxBytes int64
	dir      string

	mu    sync.Mutex
	bytes int64
	lru   *list.List // of *cacheEntry, most recent at the front
	byKey map[string]*list.Element

	hits, misses atomic.Int64
}

type cacheEntry struct {
	key     string
	extents []extent
	size    int64
}

// diskMaxAge is how long an unused file stays in the disk cache: a dashboard not opened for
// that long is unlikely to be opened with the same time range again.
const diskMaxAge = 7 * 24 * time.Hour

// NewResultsCache returns a cache holding up to maxBytes in memory, and, when dir is not
// empty, every entry on disk under dir too. Files unused for a week are removed.
func NewResultsCache(maxBytes int64, dir string) (*ResultsCache, error) {
	c := &ResultsCache{maxBytes: maxBytes, dir: dir, lru: list.New(), byKey: map[string]*list.Element{}}
	if dir == "" {
		return c, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("results cache: %w", err)
	}
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(p) != ".gob" {
			return nil
		}
		if info, err := d.Info(); err == nil && time.Since(info.ModTime()) > diskMaxAge {
			os.Remove(p)
		}
		return nil
	})
	return c, nil
}

// Hits and Misses count lookups of split parts that found all, or not all, of their points.
func (c *ResultsCache) Hits() int64   { return c.hits.Load() }
func (c *ResultsCache) Misses() int64 { return c.misses.Load() }

// get returns the extents under key, from memory or else from disk.
func (c *ResultsCache) get(key string) []extent {
	c.mu.Lock()
	if el, ok := c.byKey[key]; ok {
		c.lru.MoveToFront(el)
		ex := el.Value.(*cacheEntry).extents
		c.mu.Unlock()
		return ex
	}
	c.mu.Unlock()
	ex := c.readDisk(key)
	if ex != nil {
		c.mu.Lock()
		c.storeLocked(key, ex)
		c.mu.Unlock()
	}
	return ex
}

// add merges new extents into those under key.
func (c *ResultsCache) add(key string, step int64, add []extent) {
	if len(add) == 0 {
		return
	}
	c.mu.Lock()
	var cur []extent
	if el, ok := c.byKey[key]; ok {
		cur = el.Value.(*cacheEntry).extents
	}
	c.mu.Unlock()
	if cur == nil {
		cur = c.readDisk(key)
	}
	merged := coalesce(append(slices.Clone(cur), add...), step)
	c.mu.Lock()
	c.storeLocked(key, merged)
	c.mu.Unlock()
	c.writeDisk(key, merged)
}

func (c *ResultsCache) storeLocked(key string, ex []extent) {
	var size int64
	for _, e := range ex {
		size += e.size()
	}
	if el, ok := c.byKey[key]; ok {
		old := el.Value.(*cacheEntry)
		c.bytes += size - old.size
		old.extents, old.size = ex, size
		c.lru.MoveToFront(el)
	} else {
		c.byKey[key] = c.lru.PushFront(&cacheEntry{key: key, extents: ex, size: size})
		c.bytes += size
	}
	for c.bytes > c.maxBytes && c.lru.Len() > 0 {
		el := c.lru.Back()
		e := el.Value.(*cacheEntry)
		c.lru.Remove(el)
		delete(c.byKey, e.key)
		c.bytes -= e.size
	}
}

// diskEntry holds the key itself, so that a hash collision cannot serve another query's result.
type diskEntry struct {
	Key     string
	Extents []extent
}

func (c *ResultsCache) path(key string) string {
	h := sha256.Sum256([]byte(key))
	name := hex.EncodeToString(h[:])
	return filepath.Join(c.dir, name[:2], name+".gob")
}

func (c *ResultsCache) readDisk(key string) []extent {
	if c.dir == "" {
		return nil
	}
	b, err := os.ReadFile(c.path(key))
	if err != nil {
		return nil
	}
	var d diskEntry
	// An unreadable file (a crash mid-write, another version's format) is a miss, not an error.
	if gob.NewDecoder(bytes.NewReader(b)).Decode(&d) != nil || d.Key != key {
		return nil
	}
	return d.Extents
}

// writeDisk writes the file whole and renames it into place: readers in another process see
// the old entry or the new one, never half of one. A failure only costs a later miss.
func (c *ResultsCache) writeDisk(key string, ex []extent) {
	if c.dir == "" {
		return
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(diskEntry{Key: key, Extents: ex}); err != nil {
		return
	}
	p := c.path(key)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return
	}
	_, werr := f.Write(buf.Bytes())
	if cerr := f.Close(); werr != nil || cerr != nil {
		os.Remove(f.Name())
		return
	}
	if err := os.Rename(f.Name(), p); err != nil && !errors.Is(err, fs.ErrExist) {
		os.Remove(f.Name())
	}
}

// coalesce sorts extents and joins those that overlap or touch: the extents of one key all lie
// on one grid of step, so one starting a step after another ends continues it.
func coalesce(ex []extent, step int64) []extent {
	slices.SortFunc(ex, func(a, b extent) int { return cmp64(a.Start, b.Start) })
	var out []extent
	for _, e := range ex {
		if n := len(out); n > 0 && e.Start <= out[n-1].End+step {
			last := &out[n-1]
			if e.End > last.End {
				m := mergeMatrices(last.matrix(), clip(e.matrix(), last.End+1, e.End))
				*last = toExtent(last.Start, e.End, m)
			}
			continue
		}
		out = append(out, e)
	}
	return out
}

// gaps returns the stretches of the grid start, start+step, … end not covered by ex, which is
// sorted and on the same grid.
func gaps(ex []extent, start, end, step int64) []Part {
	var out []Part
	cur := start
	for _, e := range ex {
		if e.End < cur {
			continue
		}
		if e.Start > end {
			break
		}
		if e.Start > cur {
			out = append(out, Part{cur, e.Start - step})
		}
		cur = e.End + step
	}
	if cur <= end {
		out = append(out, Part{cur, end})
	}
	return out
}
