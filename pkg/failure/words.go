package failure

import (
	"errors"
	"strings"

	"github.com/prometheus/prometheus/util/annotations"
)

// Knob is a setting a person can change to get past a failure. Libraries name knobs, never
// flags or API parameters: the same store timeout is a flag on the command line and a server
// flag behind serve, and partial responses are a flag for the CLI and a request parameter for a
// Grafana user. Each edge has Words that say how its users change a knob.
type Knob string

const (
	QueryTimeout    Knob = "timeout"
	MaxRetries      Knob = "max-retries"
	PartialResponse Knob = "partial-response"
	ConnectTimeout  Knob = "connect-timeout"
	StoreTimeout    Knob = "store-timeout"
	MaxSeries       Knob = "max-series"
	MaxSamples      Knob = "max-samples"
	ClientTLS       Knob = "grpc-client-tls-secure"
	NoDedup         Knob = "no-dedup"
)

// Words name knobs as one edge speaks to its users. A knob an edge has no word for is named in
// Plain words.
type Words map[Knob]string

// Plain words are what Error() says: readable in a log, naming no flag or parameter.
var Plain = Words{
	QueryTimeout:    "the query timeout",
	MaxRetries:      "the retry limit",
	PartialResponse: "partial responses",
	ConnectTimeout:  "the connect timeout",
	StoreTimeout:    "the store timeout",
	MaxSeries:       "the series limit",
	MaxSamples:      "the samples limit",
	ClientTLS:       "the client TLS settings",
	NoDedup:         "deduplication off",
}

func (w Words) name(k Knob) string {
	if s, ok := w[k]; ok {
		return s
	}
	return Plain[k]
}

// Message is a sentence with knobs in it, written as {knob}, e.g. "raise {timeout}". It is
// rendered when an edge words it, so the library that writes it needs no edge's vocabulary.
type Message string

// Literal is text from elsewhere (a store's message) made safe to put in a Message: rendered,
// it reads exactly as given.
func Literal(s string) string { return strings.ReplaceAll(s, "{", "{{") }

// In renders m in w.
func (m Message) In(w Words) string {
	s := string(m)
	if !strings.Contains(s, "{") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			break
		}
		b.WriteString(s[:i])
		s = s[i:]
		if strings.HasPrefix(s, "{{") {
			b.WriteByte('{')
			s = s[2:]
			continue
		}
		// Braces that name no knob are someone else's text (a selector, say) and stay.
		j := strings.IndexByte(s, '}')
		if k := Knob(s[1:max(j, 1)]); j > 0 && Plain[k] != "" {
			b.WriteString(w.name(k))
			s = s[j+1:]
			continue
		}
		b.WriteByte('{')
		s = s[1:]
	}
	b.WriteString(s)
	return b.String()
}

// Worded is an error whose text names knobs: Error() is WordIn(Plain).
type Worded interface {
	error
	WordIn(w Words) string
}

// Word renders err as an edge tells it, with its knobs in w. Go wraps errors by writing the
// inner error's text into the outer one's, so each Worded error in the chain (the outermost
// ones: they word what they hold) is found and its plain text replaced by its words; the
// wrapping text around it is kept as it was.
func Word(err error, w Words) string {
	if err == nil {
		return ""
	}
	if we, ok := err.(Worded); ok {
		return we.WordIn(w)
	}
	s := err.Error()
	for _, we := range outermost(err, nil) {
		s = strings.Replace(s, we.Error(), we.WordIn(w), 1)
	}
	return s
}

// outermost collects the Worded errors in err's tree that no other Worded error holds.
func outermost(err error, found []Worded) []Worded {
	if we, ok := err.(Worded); ok {
		return append(found, we)
	}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		if in := u.Unwrap(); in != nil {
			return outermost(in, found)
		}
	case interface{ Unwrap() []error }:
		for _, in := range u.Unwrap() {
			found = outermost(in, found)
		}
	}
	return found
}

// Join is errors.Join for errors that may be Worded: each is worded in turn, one per line.
func Join(errs ...error) error { return join("\n", errs) }

// JoinInline is Join on one line, the errors separated by "; ".
func JoinInline(errs ...error) error { return join("; ", errs) }

func join(sep string, errs []error) error {
	var kept []error
	for _, e := range errs {
		if e != nil {
			kept = append(kept, e)
		}
	}
	if len(kept) == 0 {
		return nil
	}
	return &joined{errs: kept, sep: sep}
}

type joined struct {
	errs []error
	sep  string
}

func (j *joined) Error() string { return j.WordIn(Plain) }

func (j *joined) WordIn(w Words) string {
	lines := make([]string, len(j.errs))
	for i, e := range j.errs {
		lines[i] = Word(e, w)
	}
	return strings.Join(lines, j.sep)
}

func (j *joined) Unwrap() []error { return j.errs }

// WordAnnotations returns a with each warning that names knobs worded in w; the others, such
// as PromQL's own, as they are.
func WordAnnotations(a annotations.Annotations, w Words) annotations.Annotations {
	if len(a) == 0 {
		return a
	}
	out := make(annotations.Annotations, len(a))
	for k, err := range a {
		if len(outermost(err, nil)) == 0 {
			out[k] = err
			continue
		}
		msg := Word(err, w)
		out[msg] = errors.New(msg)
	}
	return out
}
