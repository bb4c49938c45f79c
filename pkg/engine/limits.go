package engine

import "fmt"

// Limits on a query, checked before it is parsed. Prometheus's parser takes time that grows with
// the square of the expression's depth (30,000 nested parentheses take seconds; 128 KiB of
// unary minus signs over a minute) and cannot be cancelled, so a query must be small enough to
// parse quickly before anything is spent on it. The limits sit far above real queries: those
// nest a few dozen levels at most and Grafana's longest are a few KiB.
const (
	// MaxQueryBytes is the longest query accepted.
	MaxQueryBytes = 128 << 10
	// MaxQueryDepth is how deeply brackets, ( [ {, and unary signs may nest: each is one level
	// of the parsed expression.
	MaxQueryDepth = 256
	// MaxQueryOperators is how many binary operators (+, *, ==, and, or, ...) a query may hold:
	// a chain of them nests as deeply as it is long.
	MaxQueryOperators = 1024
)

// LimitKind says which limit a query passed.
type LimitKind int

const (
	LimitLength    LimitKind = iota // MaxQueryBytes
	LimitDepth                      // MaxQueryDepth
	LimitOperators                  // MaxQueryOperators
)

// LimitError is a query refused before parsing for passing one of the limits.
type LimitError struct {
	Kind LimitKind
	Got  int // the query's length; for depth and operators, one more than allowed
	Pos  int // byte offset at which the query passed the limit
}

func (e *LimitError) Error() string {
	switch e.Kind {
	case LimitDepth:
		return fmt.Sprintf("query nests brackets ( [ { and signs more than %d levels deep (at byte %d); the limit is %d levels", MaxQueryDepth, e.Pos, MaxQueryDepth)
	case LimitOperators:
		return fmt.Sprintf("query has more than %d binary operators (the next at byte %d); the limit is %d operators", MaxQueryOperators, e.Pos, MaxQueryOperators)
	}
	return fmt.Sprintf("query is %d bytes long; the limit is %d bytes (%d KiB)", e.Got, MaxQueryBytes, MaxQueryBytes>>10)
}

// CheckLimits reports a *LimitError if qs is longer, nests deeper or holds more binary operators
// than the limits allow. It reads qs once, skipping string literals and comments, and knows just
// enough PromQL to tell a sign from a binary operator; where it cannot tell, it counts an
// operator, so that it errs towards counting more than the parser would build.
func CheckLimits(qs string) error {
	if len(qs) > MaxQueryBytes {
		return &LimitError{Kind: LimitLength, Got: len(qs), Pos: MaxQueryBytes}
	}
	var (
		// levels holds what is open, innermost last: a bracket, or a sign, whose level lasts
		// until the next binary operator, comma or closing bracket ends its operand.
		levels  []bool // true: a sign
		braces  int    // open { }: inside, = != =~ !~ are label matchers, not operators
		ops     int
		operand bool // the last token ends an operand, so + and - are binary
	)
	endSigns := func() {
		for len(levels) > 0 && levels[len(levels)-1] {
			levels = levels[:len(levels)-1]
		}
	}
	open := func(pos int, sign bool) error {
		if levels = append(levels, sign); len(levels) > MaxQueryDepth {
			return &LimitError{Kind: LimitDepth, Got: len(levels), Pos: pos}
		}
		return nil
	}
	binary := func(pos int) error {
		operand = false
		if braces > 0 {
			return nil
		}
		endSigns()
		if ops++; ops > MaxQueryOperators {
			return &LimitError{Kind: LimitOperators, Got: ops, Pos: pos}
		}
		return nil
	}
	for i := 0; i < len(qs); i++ {
		var err error
		switch c := qs[i]; {
		case c == '#':
			for i < len(qs) && qs[i] != '\n' {
				i++
			}
		case c == '"' || c == '\'' || c == '`':
			i = skipString(qs, i)
			operand = true
		case c == '(' || c == '[' || c == '{':
			err = open(i, false)
			if c == '{' {
				braces++
			}
			operand = false
		case c == ')' || c == ']' || c == '}':
			endSigns()
			// Unbalanced closers are the parser's to report.
			if len(levels) > 0 {
				levels = levels[:len(levels)-1]
			}
			if c == '}' && braces > 0 {
				braces--
			}
			operand = true
		case c == '+' || c == '-':
			if operand {
				err = binary(i)
			} else {
				err = open(i, true)
			}
		case c == '*' || c == '/' || c == '%' || c == '^' || c == '<' || c == '>' || c == '=' || c == '!':
			// Two-character operators (== != <= >= =~ !~) count once.
			if i+1 < len(qs) && (qs[i+1] == '=' || qs[i+1] == '~') {
				i++
			}
			err = binary(i)
		case c == ',':
			endSigns()
			operand = false
		case c == ':' || c == '@':
			operand = false
		case isWordByte(c):
			start := i
			for i+1 < len(qs) && isWordByte(qs[i+1]) {
				i++
			}
			switch word := qs[start : i+1]; {
			case braces == 0 && isKeywordOperator(word):
				err = binary(start)
			case word == "offset" || word == "bool":
				// What follows is an operand: offset -5m, a > bool -1.
				operand = false
			default:
				operand = true
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// skipString returns the index of the quote that closes the string opened at qs[i], or the last
// index when it is not closed (the parser reports that).
func skipString(qs string, i int) int {
	q := qs[i]
	for i++; i < len(qs); i++ {
		switch {
		case qs[i] == '\\' && q != '`':
			i++
		case qs[i] == q:
			return i
		}
	}
	return len(qs) - 1
}

// isWordByte is a byte of a name, number or duration; bytes of UTF-8 names count as well.
func isWordByte(c byte) bool {
	return c == '_' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

func isKeywordOperator(w string) bool {
	switch w {
	case "and", "or", "unless", "atan2":
		return true
	}
	return false
}
