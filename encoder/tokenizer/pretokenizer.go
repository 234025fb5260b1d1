package tokenizer

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

type preTokenizer interface {
	preTokenize(in []split) []split
}

type behavior int

const (
	removed behavior = iota
	isolated
	mergedWithPrevious
	mergedWithNext
	contiguous
)

func parseBehavior(m map[string]json.RawMessage, def behavior) (behavior, error) {
	s, err := getString(m, "behavior", "")
	if err != nil {
		return def, err
	}
	switch s {
	case "":
		return def, nil
	case "Removed":
		return removed, nil
	case "Isolated":
		return isolated, nil
	case "MergedWithPrevious":
		return mergedWithPrevious, nil
	case "MergedWithNext":
		return mergedWithNext, nil
	case "Contiguous":
		return contiguous, nil
	}
	return def, fmt.Errorf("field behavior: unknown value %q", s)
}

func parsePreTokenizer(raw json.RawMessage) (preTokenizer, error) {
	typ, m, err := jsonType(raw)
	if err != nil {
		return nil, err
	}
	switch typ {
	case "Sequence":
		seq, err := parseSequence(m, "pretokenizers", parsePreTokenizer)
		if err != nil {
			return nil, err
		}
		return seqPreTokenizer(seq), nil
	case "BertPreTokenizer":
		return bertPreTokenizer{}, nil
	case "Whitespace":
		return whitespacePreTokenizer{}, nil
	case "WhitespaceSplit":
		return charSplitPreTokenizer{pred: isSpace, b: removed}, nil
	case "Punctuation":
		b, err := parseBehavior(m, isolated)
		if err != nil {
			return nil, fmt.Errorf("Punctuation: %w", err)
		}
		return charSplitPreTokenizer{pred: isPunctuation, b: b}, nil
	case "Digits":
		ind, err := getBool(m, "individual_digits", false)
		if err != nil {
			return nil, fmt.Errorf("Digits: %w", err)
		}
		b := contiguous
		if ind {
			b = isolated
		}
		return charSplitPreTokenizer{pred: isN, b: b}, nil
	case "CharDelimiterSplit":
		d, err := getString(m, "delimiter", "")
		if err != nil {
			return nil, fmt.Errorf("CharDelimiterSplit: %w", err)
		}
		dr, n := utf8.DecodeRuneInString(d)
		if n == 0 || n != len(d) {
			return nil, fmt.Errorf("CharDelimiterSplit: delimiter %q must be one character", d)
		}
		return charSplitPreTokenizer{pred: func(r rune) bool { return r == dr }, b: removed}, nil
	case "Metaspace":
		return parseMetaspace(m)
	case "Split":
		if rs, ok, err := parseWhitespaceTailSplit(m); ok || err != nil {
			if err != nil {
				return nil, fmt.Errorf("Split: %w", err)
			}
			return rs, nil
		}
		lit, re, err := parsePattern(m["pattern"])
		if err != nil {
			return nil, fmt.Errorf("Split: %w", err)
		}
		if re == nil {
			re = regexp.MustCompile(regexp.QuoteMeta(lit))
		}
		b, err := parseBehavior(m, removed)
		if err != nil {
			return nil, fmt.Errorf("Split: %w", err)
		}
		inv, err := getBool(m, "invert", false)
		if err != nil {
			return nil, fmt.Errorf("Split: %w", err)
		}
		return &regexSplit{re: re, b: b, invert: inv}, nil
	case "ByteLevel":
		return parseByteLevel(m)
	case "":
		return nil, errors.New(`pre_tokenizer without "type"`)
	}
	return nil, fmt.Errorf("unsupported pre_tokenizer type %q", typ)
}

type seqPreTokenizer []preTokenizer

func (s seqPreTokenizer) preTokenize(in []split) []split {
	for _, p := range s {
		in = p.preTokenize(in)
	}
	return in
}

// rng is a [a, b) range of char indices and whether it is a pattern match.
type rng struct {
	a, b    int
	isMatch bool
}

// applyBehavior turns the match/non-match ranges of one split into pieces
// exactly like Hugging Face's NormalizedString::split.
func applyBehavior(sp split, ranges []rng, b behavior, out []split) []split {
	emit := func(a, b int) {
		if b > a {
			out = append(out, split{chars: sp.chars[a:b], origStart: sp.chars[a].s})
		}
	}
	switch b {
	case isolated:
		for _, r := range ranges {
			emit(r.a, r.b)
		}
	case removed:
		for _, r := range ranges {
			if !r.isMatch {
				emit(r.a, r.b)
			}
		}
	case mergedWithPrevious:
		// A match joins the piece before it (unless that was a match too).
		prev := false
		cur := rng{a: -1}
		for _, r := range ranges {
			if r.isMatch && !prev && cur.a >= 0 {
				cur.b = r.b
			} else {
				if cur.a >= 0 {
					emit(cur.a, cur.b)
				}
				cur = r
			}
			prev = r.isMatch
		}
		if cur.a >= 0 {
			emit(cur.a, cur.b)
		}
	case mergedWithNext:
		// Walk backwards: a match joins the piece after it (unless that
		// was a match too).
		first := len(out)
		prev := false
		cur := rng{a: -1}
		for i := len(ranges) - 1; i >= 0; i-- {
			r := ranges[i]
			if r.isMatch && !prev && cur.a >= 0 {
				cur.a = r.a
			} else {
				if cur.a >= 0 {
					emit(cur.a, cur.b)
				}
				cur = r
			}
			prev = r.isMatch
		}
		if cur.a >= 0 {
			emit(cur.a, cur.b)
		}
		for i, j := first, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	case contiguous:
		prev := false
		cur := rng{a: -1}
		for _, r := range ranges {
			if r.isMatch == prev && cur.a >= 0 {
				cur.b = r.b
			} else {
				if cur.a >= 0 {
					emit(cur.a, cur.b)
				}
				cur = r
			}
			prev = r.isMatch
		}
		if cur.a >= 0 {
			emit(cur.a, cur.b)
		}
	}
	return out
}

// charRanges builds ranges where every char matching pred is its own match.
func charRanges(cs []nchar, pred func(rune) bool, ranges []rng) []rng {
	start := 0
	for i, c := range cs {
		if pred(c.r) {
			if start < i {
				ranges = append(ranges, rng{start, i, false})
			}
			ranges = append(ranges, rng{i, i + 1, true})
			start = i + 1
		}
	}
	if start < len(cs) {
		ranges = append(ranges, rng{start, len(cs), false})
	}
	return ranges
}

type charSplitPreTokenizer struct {
	pred func(rune) bool
	b    behavior
}

func (c charSplitPreTokenizer) preTokenize(in []split) []split {
	out := make([]split, 0, len(in)*2)
	var ranges []rng
	for _, sp := range in {
		ranges = charRanges(sp.chars, c.pred, ranges[:0])
		out = applyBehavior(sp, ranges, c.b, out)
	}
	return out
}

type bertPreTokenizer struct{}

func (bertPreTokenizer) preTokenize(in []split) []split {
	in = charSplitPreTokenizer{pred: isSpace, b: removed}.preTokenize(in)
	return charSplitPreTokenizer{pred: isPunctuation, b: isolated}.preTokenize(in)
}

// whitespacePreTokenizer keeps the matches of \w+|[^\w\s]+.
type whitespacePreTokenizer struct{}

func (whitespacePreTokenizer) preTokenize(in []split) []split {
	var out []split
	for _, sp := range in {
		cs := sp.chars
		i := 0
		for i < len(cs) {
			r := cs[i].r
			if isSpace(r) && !isRegexWord(r) {
				i++
				continue
			}
			word := isRegexWord(r)
			j := i + 1
			for j < len(cs) {
				r2 := cs[j].r
				if word {
					if !isRegexWord(r2) {
						break
					}
				} else if isRegexWord(r2) || isSpace(r2) {
					break
				}
				j++
			}
			out = append(out, split{chars: cs[i:j], origStart: cs[i].s})
			i = j
		}
	}
	return out
}

type regexSplit struct {
	re     *regexp.Regexp
	b      behavior
	invert bool
	// head is set for patterns "HEAD|\s+(?!\S)|\s+" (GPT-2/GPT-4/Llama-3
	// style): HEAD is compiled anchored and the look-ahead tail emulated.
	head *regexp.Regexp
}

// wsTail is the look-ahead tail RE2 cannot compile.
const wsTail = `|\s+(?!\S)|\s+`

// parseWhitespaceTailSplit handles a Split regex ending in wsTail.
func parseWhitespaceTailSplit(m map[string]json.RawMessage) (*regexSplit, bool, error) {
	var p struct {
		Regex *string `json:"Regex"`
	}
	if err := json.Unmarshal(m["pattern"], &p); err != nil || p.Regex == nil || !strings.HasSuffix(*p.Regex, wsTail) {
		return nil, false, nil
	}
	headSrc := strings.TrimSuffix(*p.Regex, wsTail)
	head, err := compileOniguruma(`^(?:` + headSrc + `)`)
	if err != nil {
		return nil, true, err
	}
	b, err := parseBehavior(m, removed)
	if err != nil {
		return nil, true, err
	}
	inv, err := getBool(m, "invert", false)
	if err != nil {
		return nil, true, err
	}
	return &regexSplit{head: head, b: b, invert: inv}, true, nil
}

// findAll returns the matches of the pattern in buf.
func (r *regexSplit) findAll(buf []byte) [][]int {
	if r.head == nil {
		return r.re.FindAllIndex(buf, -1)
	}
	// Leftmost-first, alternatives in order: HEAD, then \s+(?!\S), then \s+.
	var out [][]int
	for i := 0; i < len(buf); {
		if loc := r.head.FindIndex(buf[i:]); loc != nil && loc[1] > 0 {
			out = append(out, []int{i, i + loc[1]})
			i += loc[1]
			continue
		}
		j := i
		for j < len(buf) {
			c, n := utf8.DecodeRune(buf[j:])
			if !isOnigSpace(c) {
				break
			}
			j += n
		}
		if j == i { // no match here
			_, n := utf8.DecodeRune(buf[i:])
			i += n
			continue
		}
		if j < len(buf) {
			// \s+(?!\S): give back the last space before a non-space,
			// unless that leaves nothing (then \s+ takes the run).
			_, n := utf8.DecodeLastRune(buf[i:j])
			if j-n > i {
				j -= n
			}
		}
		out = append(out, []int{i, j})
		i = j
	}
	return out
}

// isOnigSpace is Oniguruma's Unicode \s.
func isOnigSpace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', 0x85:
		return true
	}
	return unicode.In(r, unicode.Zs, unicode.Zl, unicode.Zp)
}

func (r *regexSplit) preTokenize(in []split) []split {
	var out []split
	var buf []byte
	for _, sp := range in {
		buf = charsString(sp.chars, buf)
		ms := r.findAll(buf)
		charAt := byteToCharIndex(sp.chars, len(buf))
		var ranges []rng
		prev := 0
		for _, m := range ms {
			a, b := charAt[m[0]], charAt[m[1]]
			if prev < a {
				ranges = append(ranges, rng{prev, a, r.invert})
			}
			ranges = append(ranges, rng{a, b, !r.invert})
			prev = b
		}
		if prev < len(sp.chars) {
			ranges = append(ranges, rng{prev, len(sp.chars), r.invert})
		}
		out = applyBehavior(sp, ranges, r.b, out)
	}
	return out
}

// ---- Metaspace ----

type prependScheme int

const (
	prependAlways prependScheme = iota
	prependFirst
	prependNever
)

type metaspace struct {
	replacement rune
	scheme      prependScheme
	split       bool
}

func parseMetaspace(m map[string]json.RawMessage) (preTokenizer, error) {
	rep, err := getString(m, "replacement", "▁")
	if err != nil {
		return nil, fmt.Errorf("Metaspace: %w", err)
	}
	r, n := utf8.DecodeRuneInString(rep)
	if n == 0 || n != len(rep) {
		return nil, fmt.Errorf("Metaspace: replacement %q must be one character", rep)
	}
	ms := &metaspace{replacement: r, scheme: prependAlways}
	if ms.split, err = getBool(m, "split", true); err != nil {
		return nil, fmt.Errorf("Metaspace: %w", err)
	}
	scheme, err := getString(m, "prepend_scheme", "")
	if err != nil {
		return nil, fmt.Errorf("Metaspace: %w", err)
	}
	switch scheme {
	case "always":
		ms.scheme = prependAlways
	case "first":
		ms.scheme = prependFirst
	case "never":
		ms.scheme = prependNever
	case "":
		add, err := getBool(m, "add_prefix_space", true)
		if err != nil {
			return nil, fmt.Errorf("Metaspace: %w", err)
		}
		if !add {
			ms.scheme = prependNever
		}
	default:
		return nil, fmt.Errorf("Metaspace: unknown prepend_scheme %q", scheme)
	}
	return ms, nil
}

func (m *metaspace) preTokenize(in []split) []split {
	out := make([]split, 0, len(in))
	for _, sp := range in {
		if len(sp.chars) == 0 {
			continue
		}
		cs := make([]nchar, 0, len(sp.chars)+1)
		prepend := false
		switch m.scheme {
		case prependAlways:
			prepend = sp.chars[0].r != m.replacement && sp.chars[0].r != ' '
		case prependFirst:
			prepend = sp.chars[0].r != m.replacement && sp.chars[0].r != ' ' && sp.origStart == 0
		}
		if prepend {
			cs = append(cs, nchar{m.replacement, sp.chars[0].s, sp.chars[0].e})
		}
		for _, c := range sp.chars {
			if c.r == ' ' {
				c.r = m.replacement
			}
			cs = append(cs, c)
		}
		nsp := split{chars: cs, origStart: sp.origStart}
		if !m.split {
			out = append(out, nsp)
			continue
		}
		// Split before every replacement char (MergedWithNext).
		start := 0
		for i := 1; i < len(cs); i++ {
			if cs[i].r == m.replacement {
				out = append(out, split{chars: cs[start:i], origStart: cs[start].s})
				start = i
			}
		}
		out = append(out, split{chars: cs[start:], origStart: cs[start].s})
	}
	return out
}
