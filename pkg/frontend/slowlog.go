package frontend

import (
	"io"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
)

// SlowLog writes one logfmt line per query that took at least Threshold.
type SlowLog struct {
	Threshold time.Duration
	mu        sync.Mutex
	w         io.Writer
}

// NewSlowLog logs to w the queries that take threshold or longer; nil when threshold is 0.
func NewSlowLog(w io.Writer, threshold time.Duration) *SlowLog {
	if threshold <= 0 || w == nil {
		return nil
	}
	return &SlowLog{Threshold: threshold, w: w}
}

// record is one logged query.
type record struct {
	query      string
	kind       string // instant or range
	start, end time.Time
	step       time.Duration
	took       time.Duration
	stores     storeDelta
	stats      *queryStats
	err        error
}

func (l *SlowLog) log(r record) {
	if l == nil || r.took < l.Threshold {
		return
	}
	var b logfmt
	b.kv("ts", time.Now().UTC().Format(time.RFC3339Nano))
	b.kv("msg", "slow query")
	b.kv("query", r.query)
	b.kv("type", r.kind)
	if r.kind == "range" {
		b.kv("start", r.start.UTC().Format(time.RFC3339Nano))
		b.kv("end", r.end.UTC().Format(time.RFC3339Nano))
		b.kv("step", r.step.String())
	} else {
		b.kv("time", r.start.UTC().Format(time.RFC3339Nano))
	}
	b.kv("duration", r.took.Round(time.Microsecond).String())
	b.kv("stores_touched", strconv.Itoa(len(r.stores.touched)))
	b.kv("stores", strings.Join(r.stores.touched, ","))
	b.kv("series_calls", strconv.FormatInt(r.stores.calls, 10))
	b.kv("store_series", strconv.FormatInt(r.stores.series, 10))
	b.kv("chunk_bytes", strconv.FormatInt(r.stores.chunkB, 10))
	b.kv("series", strconv.FormatInt(r.stats.series, 10))
	b.kv("samples", strconv.FormatInt(r.stats.samples, 10))
	if r.kind == "range" {
		b.kv("parts", strconv.FormatInt(r.stats.parts, 10))
		b.kv("cached_parts", strconv.FormatInt(r.stats.cachedParts, 10))
	}
	b.kv("retries", strconv.FormatInt(r.stats.retries, 10))
	if r.err != nil {
		b.kv("status", "error")
		b.kv("err", r.err.Error())
	} else {
		b.kv("status", "success")
	}
	b.WriteByte('\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = l.w.Write([]byte(b.String()))
}

type logfmt struct{ strings.Builder }

// kv appends key=value, quoting values that hold spaces, quotes, '=' or control characters (a
// multi-line query stays on its one line) and empty ones.
func (b *logfmt) kv(k, v string) {
	if b.Len() > 0 {
		b.WriteByte(' ')
	}
	b.WriteString(k)
	b.WriteByte('=')
	if v == "" || strings.IndexFunc(v, func(r rune) bool {
		return r <= ' ' || r == '=' || r == '"' || r == '\\' || unicode.IsControl(r) || unicode.IsSpace(r)
	}) >= 0 {
		v = strconv.Quote(v)
	}
	b.WriteString(v)
}
