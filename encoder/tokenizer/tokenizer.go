package tokenizer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"
)

// Encoding is the result of encoding one text.
type Encoding struct {
	IDs               []int64
	TypeIDs           []int64
	AttentionMask     []int64
	SpecialTokensMask []int64
	Tokens            []string
	// Offsets are [start, end) byte offsets into the input text; special and
	// padding tokens have [0, 0].
	Offsets [][2]int
}

// Len returns the number of tokens.
func (e *Encoding) Len() int { return len(e.IDs) }

// Truncation configures truncation (Hugging Face "truncation" section).
type Truncation struct {
	MaxLength int
	// Left removes tokens from the start instead of the end.
	Left   bool
	Stride int
	// Strategy for pairs: "LongestFirst" (default), "OnlyFirst" or "OnlySecond".
	Strategy string
}

// Padding configures padding (Hugging Face "padding" section).
type Padding struct {
	// Fixed pads every encoding to this length; 0 means "batch longest".
	Fixed           int
	PadToMultipleOf int
	Left            bool
	PadID           int64
	PadTypeID       int64
	PadToken        string
}

// Tokenizer is a loaded tokenizer.json.
type Tokenizer struct {
	normalizer normalizer
	preTok     preTokenizer
	model      model
	post       postProcessor
	added      *addedVocab

	truncation *Truncation
	padding    *Padding
}

// FromFile loads a tokenizer.json file.
func FromFile(path string) (*Tokenizer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: read %s: %w", path, err)
	}
	t, err := FromJSON(data)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", path, err)
	}
	return t, nil
}

type fileJSON struct {
	Truncation    json.RawMessage  `json:"truncation"`
	Padding       json.RawMessage  `json:"padding"`
	AddedTokens   []addedTokenJSON `json:"added_tokens"`
	Normalizer    json.RawMessage  `json:"normalizer"`
	PreTokenizer  json.RawMessage  `json:"pre_tokenizer"`
	PostProcessor json.RawMessage  `json:"post_processor"`
	Model         json.RawMessage  `json:"model"`
}

type addedTokenJSON struct {
	ID         int64  `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	LStrip     bool   `json:"lstrip"`
	RStrip     bool   `json:"rstrip"`
	Normalized *bool  `json:"normalized"`
	Special    bool   `json:"special"`
}

func isNull(m json.RawMessage) bool {
	s := strings.TrimSpace(string(m))
	return len(s) == 0 || s == "null"
}

// FromJSON parses the contents of a tokenizer.json file.
func FromJSON(data []byte) (*Tokenizer, error) {
	if err := checkText(data); err != nil {
		return nil, err
	}
	var f fileJSON
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("parse tokenizer.json: %w", err)
	}
	if isNull(f.Model) {
		return nil, errors.New(`tokenizer.json has no "model" section`)
	}
	t := &Tokenizer{}
	var err error
	if t.model, err = parseModel(f.Model); err != nil {
		return nil, fmt.Errorf("field model: %w", err)
	}
	if !isNull(f.Normalizer) {
		if t.normalizer, err = parseNormalizer(f.Normalizer); err != nil {
			return nil, fmt.Errorf("field normalizer: %w", err)
		}
	}
	if !isNull(f.PreTokenizer) {
		if t.preTok, err = parsePreTokenizer(f.PreTokenizer); err != nil {
			return nil, fmt.Errorf("field pre_tokenizer: %w", err)
		}
	}
	if !isNull(f.PostProcessor) {
		if t.post, err = parsePostProcessor(f.PostProcessor); err != nil {
			return nil, fmt.Errorf("field post_processor: %w", err)
		}
	}
	for i, a := range f.AddedTokens {
		if a.ID < 0 || a.ID > 1<<31 {
			return nil, fmt.Errorf("field added_tokens[%d]: id %d out of range", i, a.ID)
		}
		if a.Content == "" {
			return nil, fmt.Errorf("field added_tokens[%d]: empty content", i)
		}
	}
	t.added = newAddedVocab(f.AddedTokens, t.normalizer, t.model)
	if t.post != nil {
		vs := int64(t.VocabSize())
		for _, id := range t.post.specialIDs() {
			if id < 0 || id >= vs {
				return nil, fmt.Errorf("field post_processor: special token id %d is outside the vocabulary (%d ids)", id, vs)
			}
		}
	}
	if !isNull(f.Truncation) {
		var tj struct {
			Direction string `json:"direction"`
			MaxLength int    `json:"max_length"`
			Stride    int    `json:"stride"`
			Strategy  string `json:"strategy"`
		}
		if err := json.Unmarshal(f.Truncation, &tj); err != nil {
			return nil, fmt.Errorf("field truncation: %w", err)
		}
		if tj.MaxLength < 0 {
			return nil, fmt.Errorf("field truncation: negative max_length %d", tj.MaxLength)
		}
		switch tj.Strategy {
		case "", "LongestFirst", "OnlyFirst", "OnlySecond":
		default:
			return nil, fmt.Errorf("field truncation.strategy: unknown value %q", tj.Strategy)
		}
		t.truncation = &Truncation{MaxLength: tj.MaxLength, Left: tj.Direction == "Left", Stride: tj.Stride, Strategy: tj.Strategy}
	}
	if !isNull(f.Padding) {
		var pj struct {
			Strategy        json.RawMessage `json:"strategy"`
			Direction       string          `json:"direction"`
			PadToMultipleOf *int            `json:"pad_to_multiple_of"`
			PadID           int64           `json:"pad_id"`
			PadTypeID       int64           `json:"pad_type_id"`
			PadToken        string          `json:"pad_token"`
		}
		if err := json.Unmarshal(f.Padding, &pj); err != nil {
			return nil, fmt.Errorf("field padding: %w", err)
		}
		p := &Padding{Left: pj.Direction == "Left", PadID: pj.PadID, PadTypeID: pj.PadTypeID, PadToken: pj.PadToken}
		if pj.PadToMultipleOf != nil {
			p.PadToMultipleOf = *pj.PadToMultipleOf
		}
		var fixed struct {
			Fixed int `json:"Fixed"`
		}
		if len(pj.Strategy) > 0 && pj.Strategy[0] == '{' {
			if err := json.Unmarshal(pj.Strategy, &fixed); err != nil {
				return nil, fmt.Errorf("field padding.strategy: %w", err)
			}
			p.Fixed = fixed.Fixed
		}
		if p.Fixed < 0 || p.Fixed > 1<<20 || p.PadToMultipleOf < 0 || p.PadToMultipleOf > 1<<20 {
			return nil, fmt.Errorf("field padding: length out of range")
		}
		t.padding = p
	}
	return t, nil
}

// SetTruncation truncates encodings to maxLen tokens (special tokens
// included); maxLen <= 0 disables truncation. It keeps the direction of the
// file's truncation section when there is one.
func (t *Tokenizer) SetTruncation(maxLen int) {
	if maxLen <= 0 {
		t.truncation = nil
		return
	}
	tr := Truncation{MaxLength: maxLen}
	if t.truncation != nil {
		tr.Left = t.truncation.Left
		tr.Stride = t.truncation.Stride
		tr.Strategy = t.truncation.Strategy
	}
	t.truncation = &tr
}

// SetTruncationParams replaces the truncation parameters (nil disables).
func (t *Tokenizer) SetTruncationParams(p *Truncation) { t.truncation = clonePtr(p) }

// GetTruncation returns the current truncation parameters (nil: none).
func (t *Tokenizer) GetTruncation() *Truncation { return clonePtr(t.truncation) }

// SetPadding replaces the padding parameters (nil disables padding).
func (t *Tokenizer) SetPadding(p *Padding) { t.padding = clonePtr(p) }

// GetPadding returns the current padding parameters (nil: none).
func (t *Tokenizer) GetPadding() *Padding { return clonePtr(t.padding) }

// clonePtr returns a pointer to a copy of *p (nil for nil), so callers and
// the tokenizer never share parameter structs.
func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	c := *p
	return &c
}

// VocabSize is the number of ids the tokenizer can produce: the model
// vocabulary plus added tokens outside it (max id + 1).
func (t *Tokenizer) VocabSize() int {
	n := t.model.idLimit()
	for _, a := range t.added.tokens {
		if int(a.id)+1 > n {
			n = int(a.id) + 1
		}
	}
	return n
}

// TokenToID looks a token up among added tokens, then in the model vocabulary.
func (t *Tokenizer) TokenToID(tok string) (int64, bool) {
	if id, ok := t.added.byContent[tok]; ok {
		return id, true
	}
	return t.model.tokenToID(tok)
}

// IDToToken returns the token string of an id.
func (t *Tokenizer) IDToToken(id int64) (string, bool) {
	for _, a := range t.added.tokens {
		if a.id == id {
			return a.content, true
		}
	}
	return t.model.idToToken(id)
}

// Encode encodes one text.
func (t *Tokenizer) Encode(text string, addSpecialTokens bool) (Encoding, error) {
	enc, err := t.encodeRaw(text)
	if err != nil {
		return Encoding{}, err
	}
	enc, err = t.postProcess(enc, nil, addSpecialTokens)
	if err != nil {
		return Encoding{}, err
	}
	if t.padding != nil {
		target := t.padding.Fixed
		if target == 0 {
			target = enc.Len()
		}
		t.pad(&enc, target)
	}
	return enc, nil
}

// EncodeBatch encodes texts in parallel over GOMAXPROCS goroutines. With
// "batch longest" padding every encoding is padded to the longest one.
func (t *Tokenizer) EncodeBatch(ctx context.Context, texts []string, addSpecialTokens bool) ([]Encoding, error) {
	out := make([]Encoding, len(texts))
	workers := runtime.GOMAXPROCS(0)
	if workers > len(texts) {
		workers = len(texts)
	}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		next     int
	)
	const chunk = 16
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				if ctx.Err() != nil {
					return
				}
				mu.Lock()
				if firstErr != nil || next >= len(texts) {
					mu.Unlock()
					return
				}
				lo := next
				hi := min(lo+chunk, len(texts))
				next = hi
				mu.Unlock()
				for i := lo; i < hi; i++ {
					enc, err := t.encodeRaw(texts[i])
					if err == nil {
						enc, err = t.postProcess(enc, nil, addSpecialTokens)
					}
					if err != nil {
						mu.Lock()
						if firstErr == nil {
							firstErr = fmt.Errorf("text %d: %w", i, err)
						}
						mu.Unlock()
						return
					}
					out[i] = enc
				}
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if firstErr != nil {
		return nil, firstErr
	}
	if t.padding != nil {
		target := t.padding.Fixed
		if target == 0 {
			for i := range out {
				target = max(target, out[i].Len())
			}
		}
		for i := range out {
			t.pad(&out[i], target)
		}
	}
	return out, nil
}

func (t *Tokenizer) pad(e *Encoding, target int) {
	p := t.padding
	if p.PadToMultipleOf > 0 && target%p.PadToMultipleOf != 0 {
		target += p.PadToMultipleOf - target%p.PadToMultipleOf
	}
	n := target - e.Len()
	if n <= 0 {
		return
	}
	ids := make([]int64, n)
	types := make([]int64, n)
	zeros := make([]int64, n)
	ones := make([]int64, n)
	toks := make([]string, n)
	offs := make([][2]int, n)
	for i := range ids {
		ids[i] = p.PadID
		types[i] = p.PadTypeID
		ones[i] = 1
		toks[i] = p.PadToken
	}
	if p.Left {
		e.IDs = append(ids, e.IDs...)
		e.TypeIDs = append(types, e.TypeIDs...)
		e.AttentionMask = append(zeros, e.AttentionMask...)
		e.SpecialTokensMask = append(ones, e.SpecialTokensMask...)
		e.Tokens = append(toks, e.Tokens...)
		e.Offsets = append(offs, e.Offsets...)
	} else {
		e.IDs = append(e.IDs, ids...)
		e.TypeIDs = append(e.TypeIDs, types...)
		e.AttentionMask = append(e.AttentionMask, zeros...)
		e.SpecialTokensMask = append(e.SpecialTokensMask, ones...)
		e.Tokens = append(e.Tokens, toks...)
		e.Offsets = append(e.Offsets, offs...)
	}
}

// EncodePair encodes a pair of texts (question and passage, say) with the
// post-processor's pair template; truncation follows the strategy.
func (t *Tokenizer) EncodePair(a, b string, addSpecialTokens bool) (Encoding, error) {
	ea, err := t.encodeRaw(a)
	if err != nil {
		return Encoding{}, err
	}
	eb, err := t.encodeRaw(b)
	if err != nil {
		return Encoding{}, err
	}
	enc, err := t.postProcess(ea, &eb, addSpecialTokens)
	if err != nil {
		return Encoding{}, err
	}
	if t.padding != nil {
		target := t.padding.Fixed
		if target == 0 {
			target = enc.Len()
		}
		t.pad(&enc, target)
	}
	return enc, nil
}

func (t *Tokenizer) postProcess(enc Encoding, pair *Encoding, addSpecial bool) (Encoding, error) {
	if tr := t.truncation; tr != nil {
		maxLen := tr.MaxLength
		if addSpecial && t.post != nil {
			maxLen -= t.post.addedTokens(pair != nil)
		}
		if maxLen < 0 {
			maxLen = 0
		}
		total := enc.Len()
		if pair != nil {
			total += pair.Len()
		}
		if total > maxLen {
			switch {
			case pair == nil:
				if tr.Strategy == "OnlySecond" {
					return Encoding{}, errors.New("truncation strategy OnlySecond needs a pair of texts")
				}
				enc = sliceEncoding(enc, tr.Left, maxLen)
			case tr.Strategy == "OnlyFirst" || tr.Strategy == "OnlySecond":
				target := &enc
				if tr.Strategy == "OnlySecond" {
					target = pair
				}
				remove := total - maxLen
				if target.Len() <= remove {
					return Encoding{}, fmt.Errorf("truncation %s: the sequence is too short to remove %d tokens", tr.Strategy, remove)
				}
				*target = sliceEncoding(*target, tr.Left, target.Len()-remove)
			default: // LongestFirst, as Hugging Face computes it
				n1, n2 := enc.Len(), pair.Len()
				swap := n1 > n2
				if swap {
					n1, n2 = n2, n1
				}
				if n1 > maxLen {
					n2 = n1
				} else {
					n2 = max(n1, maxLen-n1)
				}
				if n1+n2 > maxLen {
					n1 = maxLen / 2
					n2 = n1 + maxLen%2
				}
				if swap {
					n1, n2 = n2, n1
				}
				if enc.Len() > n1 {
					enc = sliceEncoding(enc, tr.Left, n1)
				}
				if pair.Len() > n2 {
					p := sliceEncoding(*pair, tr.Left, n2)
					pair = &p
				}
			}
		}
	}
	if t.post == nil {
		if pair != nil {
			return concatEncodings(enc, *pair), nil
		}
		return enc, nil
	}
	return t.post.process(enc, pair, addSpecial), nil
}

func sliceEncoding(e Encoding, left bool, n int) Encoding {
	lo, hi := 0, n
	if left {
		lo, hi = e.Len()-n, e.Len()
	}
	return Encoding{
		IDs: e.IDs[lo:hi], TypeIDs: e.TypeIDs[lo:hi], AttentionMask: e.AttentionMask[lo:hi],
		SpecialTokensMask: e.SpecialTokensMask[lo:hi], Tokens: e.Tokens[lo:hi], Offsets: e.Offsets[lo:hi],
	}
}

// nchar is one character of a normalized string with the byte span
// [s, e) of the original text it comes from.
type nchar struct {
	r    rune
	s, e int32
}

// split is a piece of normalized text on its way through pre-tokenization.
type split struct {
	chars     []nchar
	origStart int32
}

func toChars(text string, base int, dst []nchar) []nchar {
	for i, r := range text {
		n := utf8.RuneLen(r)
		if r == utf8.RuneError {
			_, n = utf8.DecodeRuneInString(text[i:])
		}
		dst = append(dst, nchar{r: r, s: int32(base + i), e: int32(base + i + n)})
	}
	return dst
}

func charsString(cs []nchar, buf []byte) []byte {
	buf = buf[:0]
	for _, c := range cs {
		buf = utf8.AppendRune(buf, c.r)
	}
	return buf
}

type token struct {
	id   int64
	val  string
	a, b int // byte offsets in the string given to the model
}

// encodeRaw runs added-token extraction, normalization, pre-tokenization and
// the model; no post-processing.
func (t *Tokenizer) encodeRaw(text string) (Encoding, error) {
	est := len(text)/3 + 4
	enc := Encoding{IDs: make([]int64, 0, est), Tokens: make([]string, 0, est), Offsets: make([][2]int, 0, est)}
	pieces := t.added.extract(text, t.normalizer)
	var buf []byte
	var toks []token
	var byteToChar []int32
	for _, p := range pieces {
		if p.id >= 0 {
			enc.IDs = append(enc.IDs, p.id)
			enc.Tokens = append(enc.Tokens, p.content)
			enc.Offsets = append(enc.Offsets, [2]int{int(p.s), int(p.e)})
			continue
		}
		splits := []split{{chars: p.chars, origStart: p.s}}
		if t.preTok != nil {
			splits = t.preTok.preTokenize(splits)
		}
		for _, sp := range splits {
			if len(sp.chars) == 0 {
				continue
			}
			buf = charsString(sp.chars, buf)
			byteToChar = byteToChar[:0]
			for ci, c := range sp.chars {
				for k := utf8.RuneLen(c.r); k > 0; k-- {
					byteToChar = append(byteToChar, int32(ci))
				}
				if utf8.RuneLen(c.r) < 0 {
					byteToChar = append(byteToChar, int32(ci))
				}
			}
			var err error
			toks, err = t.model.tokenize(string(buf), toks[:0])
			if err != nil {
				return Encoding{}, err
			}
			for _, tk := range toks {
				enc.IDs = append(enc.IDs, tk.id)
				enc.Tokens = append(enc.Tokens, tk.val)
				var o [2]int
				switch {
				case tk.b > tk.a && tk.b <= len(byteToChar) && tk.a >= 0:
					o[0] = int(sp.chars[byteToChar[tk.a]].s)
					o[1] = int(sp.chars[byteToChar[tk.b-1]].e)
				case tk.b > len(byteToChar):
					// Beyond the split (BPE byte fallback of a prefixed
					// piece): Hugging Face cannot convert these and reports
					// the raw offsets (which may split a character); clamp
					// them into the input.
					o[0] = min(max(tk.a, 0), len(text))
					o[1] = min(max(tk.b, o[0]), len(text))
				}
				enc.Offsets = append(enc.Offsets, o)
			}
		}
	}
	n := len(enc.IDs)
	enc.TypeIDs = make([]int64, n)
	enc.AttentionMask = make([]int64, n)
	enc.SpecialTokensMask = make([]int64, n)
	for i := range enc.AttentionMask {
		enc.AttentionMask[i] = 1
	}
	return enc, nil
}

// ---- added tokens ----

type addedToken struct {
	id                                   int64
	content                              string
	pattern                              string // content, normalized when normalized
	singleWord, lstrip, rstrip, normFlag bool
	special                              bool
}

type addedVocab struct {
	tokens    []addedToken
	byContent map[string]int64
	raw       matcher // non-normalized tokens, matched on the input
	norm      matcher // normalized tokens, matched on normalized text
}

type matcher struct {
	toks    []*addedToken
	byFirst [256][]int
}

func (m *matcher) add(a *addedToken) {
	if a.pattern == "" {
		return
	}
	m.byFirst[a.pattern[0]] = append(m.byFirst[a.pattern[0]], len(m.toks))
	m.toks = append(m.toks, a)
}

func (m *matcher) empty() bool { return len(m.toks) == 0 }

// next finds the leftmost-longest match at or after from.
func (m *matcher) next(s string, from int) (int, int, *addedToken) {
	for i := from; i < len(s); i++ {
		cands := m.byFirst[s[i]]
		if len(cands) == 0 {
			continue
		}
		best := -1
		for _, c := range cands {
			p := m.toks[c].pattern
			if strings.HasPrefix(s[i:], p) && (best < 0 || len(p) > len(m.toks[best].pattern)) {
				best = c
			}
		}
		if best >= 0 {
			return i, i + len(m.toks[best].pattern), m.toks[best]
		}
	}
	return -1, -1, nil
}

// newAddedVocab assigns ids like Hugging Face does when it loads a file: the
// "id" fields are ignored; a token keeps the id of an earlier added token
// with the same content, else the model's id for it, else the next free id
// after the model vocabulary and the added tokens.
func newAddedVocab(list []addedTokenJSON, n normalizer, m model) *addedVocab {
	av := &addedVocab{byContent: map[string]int64{}}
	vsize := int64(m.size())
	maxAdded := int64(-1)
	for _, a := range list {
		normFlag := !a.Special
		if a.Normalized != nil {
			normFlag = *a.Normalized
		}
		id, ok := av.byContent[a.Content]
		if !ok {
			id, ok = m.tokenToID(a.Content)
		}
		if !ok {
			switch {
			case maxAdded < 0:
				id = vsize
			case maxAdded >= vsize || vsize == 0:
				id = maxAdded + 1
			default:
				id = vsize
			}
		}
		maxAdded = max(maxAdded, id)
		a.ID = id
		av.tokens = append(av.tokens, addedToken{id: a.ID, content: a.Content, singleWord: a.SingleWord,
			lstrip: a.LStrip, rstrip: a.RStrip, normFlag: normFlag, special: a.Special})
		av.byContent[a.Content] = a.ID
	}
	for i := range av.tokens {
		a := &av.tokens[i]
		if a.normFlag {
			if n != nil {
				cs := n.normalize(toChars(a.content, 0, nil))
				a.pattern = string(charsString(cs, nil))
			} else {
				a.pattern = a.content
			}
			av.norm.add(a)
		} else {
			a.pattern = a.content
			av.raw.add(a)
		}
	}
	return av
}

type piece struct {
	id      int64 // >= 0 for an added token
	content string
	s, e    int32
	chars   []nchar
}

type span struct {
	a, b int
	tok  *addedToken
}

func isWordChar(r rune) bool { return isRegexWord(r) }

func (av *addedVocab) findMatches(s string, m *matcher) []span {
	var out []span
	startOffset := 0
	for from := 0; from < len(s); {
		a, b, tok := m.next(s, from)
		if tok == nil {
			break
		}
		from = a + 1
		if tok.singleWord {
			startSpace := a == 0
			if !startSpace {
				r, _ := utf8.DecodeLastRuneInString(s[:a])
				startSpace = !isWordChar(r)
			}
			stopSpace := b == len(s)
			if !stopSpace {
				r, _ := utf8.DecodeRuneInString(s[b:])
				stopSpace = !isWordChar(r)
			}
			if !startSpace || !stopSpace {
				continue
			}
		}
		from = b
		if tok.lstrip {
			ns := len(strings.TrimRightFunc(s[:a], isSpace))
			a = max(ns, startOffset)
		}
		if tok.rstrip {
			b += len(s[b:]) - len(strings.TrimLeftFunc(s[b:], isSpace))
			from = b
		}
		if startOffset < a {
			out = append(out, span{startOffset, a, nil})
		}
		out = append(out, span{a, b, tok})
		startOffset = b
	}
	if startOffset < len(s) {
		out = append(out, span{startOffset, len(s), nil})
	}
	return out
}

func (av *addedVocab) extract(text string, n normalizer) []piece {
	var out []piece
	var rawSpans []span
	if av.raw.empty() {
		rawSpans = []span{{0, len(text), nil}}
	} else {
		rawSpans = av.findMatches(text, &av.raw)
	}
	if len(text) == 0 {
		rawSpans = []span{{0, 0, nil}}
	}
	for _, sp := range rawSpans {
		if sp.tok != nil {
			out = append(out, piece{id: sp.tok.id, content: text[sp.a:sp.b], s: int32(sp.a), e: int32(sp.b)})
			continue
		}
		cs := toChars(text[sp.a:sp.b], sp.a, make([]nchar, 0, sp.b-sp.a))
		if n != nil {
			cs = n.normalize(cs)
		}
		if av.norm.empty() || len(cs) == 0 {
			out = append(out, piece{id: -1, chars: cs, s: int32(sp.a)})
			continue
		}
		ns := string(charsString(cs, nil))
		byteToChar := make([]int, 0, len(ns)+1)
		for ci, c := range cs {
			for k := utf8.RuneLen(c.r); k > 0; k-- {
				byteToChar = append(byteToChar, ci)
			}
		}
		byteToChar = append(byteToChar, len(cs))
		for _, nsp := range av.findMatches(ns, &av.norm) {
			ca, cb := byteToChar[nsp.a], byteToChar[nsp.b]
			sub := cs[ca:cb]
			if nsp.tok != nil {
				var s, e int32
				if len(sub) > 0 {
					s, e = sub[0].s, sub[len(sub)-1].e
				}
				out = append(out, piece{id: nsp.tok.id, content: ns[nsp.a:nsp.b], s: s, e: e})
				continue
			}
			start := int32(sp.a)
			if ca > 0 && len(sub) > 0 {
				start = sub[0].s
			}
			out = append(out, piece{id: -1, chars: sub, s: start})
		}
	}
	return out
}

// sortedKeys is a helper for deterministic error messages.
func sortedKeys(m map[string]json.RawMessage) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
