package tokenizer

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

type normalizer interface {
	normalize(cs []nchar) []nchar
}

// parseSequence parses the list field of a Sequence component (normalizers,
// pre-tokenizers, post-processors) element by element with parse, naming
// the failing element in errors.
func parseSequence[T any](m map[string]json.RawMessage, field string, parse func(json.RawMessage) (T, error)) ([]T, error) {
	var list []json.RawMessage
	if err := json.Unmarshal(m[field], &list); err != nil {
		return nil, fmt.Errorf("Sequence.%s: %w", field, err)
	}
	var seq []T
	for i, r := range list {
		v, err := parse(r)
		if err != nil {
			return nil, fmt.Errorf("Sequence.%s[%d]: %w", field, i, err)
		}
		seq = append(seq, v)
	}
	return seq, nil
}

func jsonType(raw json.RawMessage) (string, map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return "", nil, err
	}
	var typ string
	if t, ok := m["type"]; ok {
		if err := json.Unmarshal(t, &typ); err != nil {
			return "", nil, fmt.Errorf("field type: %w", err)
		}
	}
	return typ, m, nil
}

func getBool(m map[string]json.RawMessage, key string, def bool) (bool, error) {
	v, ok := m[key]
	if !ok || isNull(v) {
		return def, nil
	}
	var b bool
	if err := json.Unmarshal(v, &b); err != nil {
		return def, fmt.Errorf("field %s: %w", key, err)
	}
	return b, nil
}

func getString(m map[string]json.RawMessage, key string, def string) (string, error) {
	v, ok := m[key]
	if !ok || isNull(v) {
		return def, nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return def, fmt.Errorf("field %s: %w", key, err)
	}
	return s, nil
}

// patternJSON is {"String": "..."} or {"Regex": "..."}.
func parsePattern(raw json.RawMessage) (lit string, re *regexp.Regexp, err error) {
	var p struct {
		String *string `json:"String"`
		Regex  *string `json:"Regex"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return "", nil, fmt.Errorf("field pattern: %w", err)
	}
	switch {
	case p.String != nil:
		return *p.String, nil, nil
	case p.Regex != nil:
		re, err := compileOniguruma(*p.Regex)
		if err != nil {
			return "", nil, err
		}
		return "", re, nil
	}
	return "", nil, errors.New(`field pattern: want {"String": ...} or {"Regex": ...}`)
}

// Oniguruma's Unicode meaning of the Perl classes (RE2's are ASCII-only).
const (
	onigSpace = `\t\n\v\f\r\x{85}\p{Zl}\p{Zp}\p{Zs}`
	onigDigit = `\p{Nd}`
)

// onigWord is \w (Alphabetic, marks, decimal digits, connector
// punctuation) as the ranges of hfWord, which were probed from Hugging
// Face's Rust regex, without the join controls U+200C/U+200D that Rust
// counts and Oniguruma does not.
var onigWord = func() string {
	var b strings.Builder
	for _, r := range hfWord {
		if r.lo <= 0x200d && r.hi >= 0x200c {
			if r.lo < 0x200c {
				fmt.Fprintf(&b, `\x{%x}-\x{%x}`, r.lo, 0x200b)
			}
			if r.hi > 0x200d {
				fmt.Fprintf(&b, `\x{%x}-\x{%x}`, 0x200e, r.hi)
			}
			continue
		}
		if r.lo == r.hi {
			fmt.Fprintf(&b, `\x{%x}`, r.lo)
		} else {
			fmt.Fprintf(&b, `\x{%x}-\x{%x}`, r.lo, r.hi)
		}
	}
	return b.String()
}()

// translateOniguruma rewrites \s \S \w \W \d \D to their Unicode
// meaning in Oniguruma (as Hugging Face compiles patterns). Inside a
// bracket expression only the positive forms can be rewritten; the negated
// ones keep RE2's ASCII meaning there.
func translateOniguruma(p string) string {
	var b strings.Builder
	inClass := false
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c == '\\' && i+1 < len(p) {
			n := p[i+1]
			i++
			var pos, neg string
			switch n {
			case 's', 'S':
				pos = onigSpace
			case 'w', 'W':
				pos = onigWord
			case 'd', 'D':
				pos = onigDigit
			}
			switch {
			case pos == "":
				b.WriteByte('\\')
				b.WriteByte(n)
			case inClass && n >= 'a':
				b.WriteString(pos)
			case inClass:
				b.WriteByte('\\')
				b.WriteByte(n)
			case n >= 'a':
				b.WriteString("[" + pos + "]")
			default:
				neg = "[^" + pos + "]"
				b.WriteString(neg)
			}
			continue
		}
		switch {
		case c == '[' && !inClass:
			inClass = true
			b.WriteByte(c)
			// A ']' right after '[' or '[^' is a literal.
			if i+1 < len(p) && p[i+1] == '^' {
				b.WriteByte('^')
				i++
			}
			if i+1 < len(p) && p[i+1] == ']' {
				b.WriteByte(']')
				i++
			}
			continue
		case c == ']' && inClass:
			inClass = false
		}
		b.WriteByte(c)
	}
	return b.String()
}

// compileOniguruma compiles a Hugging Face (Oniguruma) regex with Go's RE2.
func compileOniguruma(p string) (*regexp.Regexp, error) {
	re, err := regexp.Compile(translateOniguruma(p))
	if err != nil {
		return nil, fmt.Errorf("regex `%s` is not supported by Go's RE2 engine (Hugging Face uses Oniguruma; look-around and backreferences are unavailable): %w", p, err)
	}
	return re, nil
}

func parseNormalizer(raw json.RawMessage) (normalizer, error) {
	typ, m, err := jsonType(raw)
	if err != nil {
		return nil, err
	}
	switch typ {
	case "Sequence":
		seq, err := parseSequence(m, "normalizers", parseNormalizer)
		if err != nil {
			return nil, err
		}
		return seqNormalizer(seq), nil
	case "BertNormalizer":
		b := &bertNormalizer{}
		if b.cleanText, err = getBool(m, "clean_text", true); err != nil {
			return nil, err
		}
		if b.chinese, err = getBool(m, "handle_chinese_chars", true); err != nil {
			return nil, err
		}
		if b.lowercase, err = getBool(m, "lowercase", true); err != nil {
			return nil, err
		}
		if b.stripAccents, err = getBool(m, "strip_accents", b.lowercase); err != nil {
			return nil, err
		}
		if b.stripAccents {
			b.nfd = newUnicodeNormalizer(norm.NFD)
		}
		return b, nil
	case "NFC":
		return newUnicodeNormalizer(norm.NFC), nil
	case "NFD":
		return newUnicodeNormalizer(norm.NFD), nil
	case "NFKC":
		return newUnicodeNormalizer(norm.NFKC), nil
	case "NFKD":
		return newUnicodeNormalizer(norm.NFKD), nil
	case "Lowercase":
		return lowercaseNormalizer{}, nil
	case "StripAccents":
		return stripAccentsNormalizer{}, nil
	case "Nmt":
		return nmtNormalizer{}, nil
	case "Strip":
		l, err := getBool(m, "strip_left", true)
		if err != nil {
			return nil, err
		}
		r, err := getBool(m, "strip_right", true)
		if err != nil {
			return nil, err
		}
		return stripNormalizer{l, r}, nil
	case "Prepend":
		p, err := getString(m, "prepend", "")
		if err != nil {
			return nil, err
		}
		return prependNormalizer{p}, nil
	case "Replace":
		lit, re, err := parsePattern(m["pattern"])
		if err != nil {
			return nil, fmt.Errorf("Replace: %w", err)
		}
		content, err := getString(m, "content", "")
		if err != nil {
			return nil, fmt.Errorf("Replace: %w", err)
		}
		return &replaceNormalizer{lit: lit, re: re, content: content}, nil
	case "Precompiled":
		s, err := getString(m, "precompiled_charsmap", "")
		if err != nil {
			return nil, fmt.Errorf("Precompiled: %w", err)
		}
		p, err := newPrecompiled(s)
		if err != nil {
			return nil, fmt.Errorf("Precompiled.precompiled_charsmap: %w", err)
		}
		return p, nil
	case "":
		return nil, errors.New(`normalizer without "type"`)
	}
	return nil, fmt.Errorf("unsupported normalizer type %q", typ)
}

type seqNormalizer []normalizer

func (s seqNormalizer) normalize(cs []nchar) []nchar {
	for _, n := range s {
		cs = n.normalize(cs)
	}
	return cs
}

// ---- character classes (Rust semantics) ----

// isSpace is Rust's char::is_whitespace (the White_Space property).
func isSpace(r rune) bool {
	if r < 0x80 {
		return r == ' ' || (r >= '\t' && r <= '\r')
	}
	return charClass(r)&clsSpace != 0
}

// isBertWhitespace: tab, newline, carriage return or White_Space.
func isBertWhitespace(r rune) bool { return isSpace(r) }

// isOther: general category C (Cc, Cf, Cn, Co, Cs).
func isOther(r rune) bool {
	return charClass(r)&clsOther != 0
}

func isBertControl(r rune) bool {
	if r == '\t' || r == '\n' || r == '\r' {
		return false
	}
	return isOther(r)
}

func isChineseChar(r rune) bool {
	switch {
	case r >= 0x4E00 && r <= 0x9FFF, r >= 0x3400 && r <= 0x4DBF, r >= 0x20000 && r <= 0x2A6DF,
		r >= 0x2A700 && r <= 0x2B73F, r >= 0x2B740 && r <= 0x2B81F, r >= 0x2B920 && r <= 0x2CEAF,
		r >= 0xF900 && r <= 0xFAFF, r >= 0x2F800 && r <= 0x2FA1F:
		return true
	}
	return false
}

// isPunctuation is the BERT definition: ASCII punctuation or Unicode P*.
func isPunctuation(r rune) bool {
	return charClass(r)&clsPunct != 0
}

// isRegexWord is \w in Rust's regex (Unicode): Alphabetic, M, Nd, Pc, Join_Control.
func isRegexWord(r rune) bool {
	return charClass(r)&clsWord != 0
}

// ---- BertNormalizer ----

type bertNormalizer struct {
	cleanText, chinese, stripAccents, lowercase bool
	nfd                                         *unicodeNormalizer
}

func (b *bertNormalizer) normalize(cs []nchar) []nchar {
	if b.cleanText {
		out := cs[:0:0]
		changed := false
		for i, c := range cs {
			if c.r == 0 || c.r == 0xFFFD || isBertControl(c.r) {
				if !changed {
					out = append(make([]nchar, 0, len(cs)), cs[:i]...)
					changed = true
				}
				continue
			}
			if isBertWhitespace(c.r) && c.r != ' ' {
				if !changed {
					out = append(make([]nchar, 0, len(cs)), cs[:i]...)
					changed = true
				}
				c.r = ' '
			}
			if changed {
				out = append(out, c)
			}
		}
		if changed {
			cs = out
		}
	}
	if b.chinese {
		var out []nchar
		for i, c := range cs {
			if isChineseChar(c.r) {
				if out == nil {
					out = append(make([]nchar, 0, len(cs)+8), cs[:i]...)
				}
				sp := nchar{r: ' ', s: c.s, e: c.e}
				out = append(out, sp, c, sp)
			} else if out != nil {
				out = append(out, c)
			}
		}
		if out != nil {
			cs = out
		}
	}
	if b.stripAccents {
		cs = b.nfd.normalize(cs)
		cs = filterChars(cs, func(r rune) bool { return r < 0x300 || charClass(r)&clsMn == 0 })
	}
	if b.lowercase {
		cs = lowercaseNormalizer{}.normalize(cs)
	}
	return cs
}

func filterChars(cs []nchar, keep func(rune) bool) []nchar {
	for i, c := range cs {
		if !keep(c.r) {
			out := append(make([]nchar, 0, len(cs)), cs[:i]...)
			for _, c := range cs[i+1:] {
				if keep(c.r) {
					out = append(out, c)
				}
			}
			return out
		}
	}
	return cs
}

type stripAccentsNormalizer struct{}

func (stripAccentsNormalizer) normalize(cs []nchar) []nchar {
	return filterChars(cs, func(r rune) bool { return r < 0x300 || charClass(r)&clsMark == 0 })
}

type lowercaseNormalizer struct{}

func lowerRune(r rune) rune {
	if r < 0x80 {
		if r >= 'A' && r <= 'Z' {
			return r + 32
		}
		return r
	}
	return unicode.ToLower(r)
}

func (lowercaseNormalizer) normalize(cs []nchar) []nchar {
	var out []nchar
	for i, c := range cs {
		if c.r == 0x130 { // İ lowercases to i + combining dot above
			if out == nil {
				out = append(make([]nchar, 0, len(cs)+1), cs[:i]...)
			}
			out = append(out, nchar{'i', c.s, c.e}, nchar{0x307, c.s, c.e})
			continue
		}
		l := lowerRune(c.r)
		if l != c.r && out == nil {
			out = append(make([]nchar, 0, len(cs)), cs[:i]...)
		}
		if out != nil {
			c.r = l
			out = append(out, c)
		}
	}
	if out == nil {
		return cs
	}
	return out
}

// ---- Unicode normalization forms ----

type unicodeNormalizer struct {
	f norm.Form
	// inert marks BMP characters that the form leaves alone whatever their
	// neighbours: unchanged, combining class 0, boundaries on both sides.
	inert []uint64
	// alone marks BMP characters that are normal on their own with
	// combining class 0 (a one-char segment of them is left unchanged).
	alone []uint64
}

func newUnicodeNormalizer(f norm.Form) *unicodeNormalizer {
	u := &unicodeNormalizer{f: f, inert: make([]uint64, 0x10000/64), alone: make([]uint64, 0x10000/64)}
	stable := hfNoCanon
	if f == norm.NFKC || f == norm.NFKD {
		stable = hfNoCompat
	}
	var buf [4]byte
	for r := rune(0); r < 0x10000; r++ {
		if r >= 0xD800 && r < 0xE000 {
			continue
		}
		n := utf8.EncodeRune(buf[:], r)
		p := f.Properties(buf[:n])
		if inRanges(stable, r) || (p.BoundaryBefore() && p.BoundaryAfter() && p.CCC() == 0 && f.IsNormal(buf[:n])) {
			u.inert[r>>6] |= 1 << (r & 63)
		}
		if p.CCC() == 0 && f.IsNormal(buf[:n]) {
			u.alone[r>>6] |= 1 << (r & 63)
		}
	}
	return u
}

func (u *unicodeNormalizer) isInert(r rune) bool {
	return r < 0x10000 && u.inert[r>>6]&(1<<(r&63)) != 0
}

func (u *unicodeNormalizer) normalize(cs []nchar) []nchar {
	first := -1
	for i, c := range cs {
		if !u.isInert(c.r) {
			first = i
			break
		}
	}
	if first < 0 {
		return cs
	}
	out := make([]nchar, 0, len(cs)+8)
	out = append(out, cs[:first]...)
	decomp := norm.NFD
	if u.f == norm.NFKC || u.f == norm.NFKD {
		decomp = norm.NFKD
	}
	composing := u.f == norm.NFC || u.f == norm.NFKC
	// Characters HF's (older) tables do not decompose stay as they are.
	stable := hfNoCanon
	if decomp == norm.NFKD {
		stable = hfNoCompat
	}
	var list, dec []change
	var segBuf []byte
	for ca := first; ca < len(cs); {
		if u.isInert(cs[ca].r) || inRanges(stable, cs[ca].r) {
			out = append(out, cs[ca])
			ca++
			continue
		}
		cb := ca + 1
		for cb < len(cs) && !u.f.PropertiesString(string(cs[cb].r)).BoundaryBefore() && !inRanges(stable, cs[cb].r) {
			cb++
		}
		if cb == ca+1 && cs[ca].r < 0x10000 && u.alone[cs[ca].r>>6]&(1<<(cs[ca].r&63)) != 0 {
			out = append(out, cs[ca])
			ca = cb
			continue
		}
		segBuf = charsString(cs[ca:cb], segBuf)
		seg := u.f.Bytes(segBuf)
		if string(seg) == string(segBuf) {
			out = append(out, cs[ca:cb]...)
			ca = cb
			continue
		}
		// Emulate unicode-normalization-alignments: each input char yields
		// its decomposition as (first, 0), (rest, +1); canonical reordering
		// moves these change marks with the chars; composition merges them;
		// HF's transform then aligns positionally.
		dec = dec[:0]
		for _, c := range cs[ca:cb] {
			first := true
			for _, r := range decomp.String(string(c.r)) {
				ch := 1
				if first {
					ch = 0
					first = false
				}
				dec = append(dec, change{r, ch})
			}
		}
		// Stable sort of each run of non-starters by combining class.
		for i := 0; i < len(dec); {
			if cccOf(dec[i].r) == 0 {
				i++
				continue
			}
			j := i + 1
			for j < len(dec) && cccOf(dec[j].r) != 0 {
				j++
			}
			if j-i > 1 {
				run := dec[i:j]
				sort.SliceStable(run, func(x, y int) bool { return cccOf(run[x].r) < cccOf(run[y].r) })
			}
			i = j
		}
		list = list[:0]
		if !composing {
			list = append(list, dec...)
		} else {
			i := 0
			for _, r := range string(seg) {
				if i >= len(dec) {
					list = append(list, change{r, 1})
					continue
				}
				if dec[i].r == r {
					list = append(list, dec[i])
					i++
					continue
				}
				n := utf8.RuneCountInString(decomp.String(string(r)))
				sum := 0
				for k := 0; k < n && i < len(dec); k++ {
					sum += dec[i].ch
					i++
				}
				list = append(list, change{r, sum - (n - 1)})
			}
			if i < len(dec) && len(list) > 0 {
				for ; i < len(dec); i++ {
					list[len(list)-1].ch += dec[i].ch - 1
				}
			}
		}
		out = append(out, hfTransform(cs[ca:cb], list)...)
		ca = cb
	}
	return out
}

func cccOf(r rune) uint8 { return norm.NFD.PropertiesString(string(r)).CCC() }

// ---- NMT ----

type nmtNormalizer struct{}

func (nmtNormalizer) normalize(cs []nchar) []nchar {
	cs = filterChars(cs, func(r rune) bool {
		return !((r >= 1 && r <= 8) || r == 0xB || (r >= 0xE && r <= 0x1F) || r == 0x7F || r == 0x8F || r == 0x9F)
	})
	var out []nchar
	for i, c := range cs {
		r := c.r
		switch {
		case r == 9 || r == 0xA || r == 0xC || r == 0xD || r == 0x1680 || (r >= 0x200B && r <= 0x200F) ||
			r == 0x2028 || r == 0x2029 || r == 0x2581 || r == 0xFEFF || r == 0xFFFD:
			r = ' '
		}
		if r != c.r && out == nil {
			out = append(make([]nchar, 0, len(cs)), cs[:i]...)
		}
		if out != nil {
			c.r = r
			out = append(out, c)
		}
	}
	if out == nil {
		return cs
	}
	return out
}

// ---- Strip, Prepend, Replace ----

type stripNormalizer struct{ left, right bool }

func (s stripNormalizer) normalize(cs []nchar) []nchar {
	if s.left {
		for len(cs) > 0 && isSpace(cs[0].r) {
			cs = cs[1:]
		}
	}
	if s.right {
		for len(cs) > 0 && isSpace(cs[len(cs)-1].r) {
			cs = cs[:len(cs)-1]
		}
	}
	return cs
}

type prependNormalizer struct{ p string }

func (p prependNormalizer) normalize(cs []nchar) []nchar {
	if len(cs) == 0 || p.p == "" {
		return cs
	}
	out := make([]nchar, 0, len(cs)+4)
	for _, r := range p.p {
		out = append(out, nchar{r, cs[0].s, cs[0].e})
	}
	return append(out, cs...)
}

type replaceNormalizer struct {
	lit     string
	re      *regexp.Regexp
	content string
}

// matchRanges returns the byte ranges of the matches of a literal or regex.
func matchRanges(s string, lit string, re *regexp.Regexp) [][]int {
	if re != nil {
		return re.FindAllStringIndex(s, -1)
	}
	if lit == "" {
		return nil
	}
	var out [][]int
	for i := 0; i <= len(s)-len(lit); {
		j := strings.Index(s[i:], lit)
		if j < 0 {
			break
		}
		out = append(out, []int{i + j, i + j + len(lit)})
		i += j + len(lit)
	}
	return out
}

func (rp *replaceNormalizer) normalize(cs []nchar) []nchar {
	if len(cs) == 0 {
		return cs
	}
	src := string(charsString(cs, nil))
	ms := matchRanges(src, rp.lit, rp.re)
	if len(ms) == 0 {
		return cs
	}
	charAt := byteToCharIndex(cs, len(src))
	out := make([]nchar, 0, len(cs))
	prev := 0
	for _, m := range ms {
		ca, cb := charAt[m[0]], charAt[m[1]]
		out = append(out, cs[prev:ca]...)
		var s, e int32
		if cb > ca {
			s, e = cs[cb-1].s, cs[cb-1].e
		} else if ca > 0 {
			s, e = cs[ca-1].s, cs[ca-1].e
		}
		for _, r := range rp.content {
			out = append(out, nchar{r, s, e})
		}
		prev = cb
	}
	return append(out, cs[prev:]...)
}

func byteToCharIndex(cs []nchar, n int) []int {
	charAt := make([]int, 0, n+1)
	for ci, c := range cs {
		for k := utf8.RuneLen(c.r); k > 0; k-- {
			charAt = append(charAt, ci)
		}
	}
	return append(charAt, len(cs))
}
