package tokenizer

import (
	"container/heap"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// ---- BPE model ----

type pair struct{ a, b int64 }

type mergeInfo struct {
	rank  int
	newID int64
}

type bpe struct {
	vocab        map[string]int64
	rev          []string
	merges       map[pair]mergeInfo
	unk          string
	hasUnk       bool
	prefix       string
	suffix       string
	fuseUnk      bool
	byteFallback bool
	ignoreMerges bool
	byteIDs      [256]int64 // id of <0xNN>, -1 when missing
}

func parseBPE(m map[string]json.RawMessage) (model, error) {
	vocab, rev, err := parseVocabMap(m)
	if err != nil {
		return nil, fmt.Errorf("BPE: %w", err)
	}
	b := &bpe{vocab: vocab, rev: rev, merges: map[pair]mergeInfo{}}
	if v, ok := m["unk_token"]; ok && !isNull(v) {
		if err := json.Unmarshal(v, &b.unk); err != nil {
			return nil, fmt.Errorf("BPE: field unk_token: %w", err)
		}
		b.hasUnk = true
	}
	if b.prefix, err = getString(m, "continuing_subword_prefix", ""); err != nil {
		return nil, fmt.Errorf("BPE: %w", err)
	}
	if b.suffix, err = getString(m, "end_of_word_suffix", ""); err != nil {
		return nil, fmt.Errorf("BPE: %w", err)
	}
	if b.fuseUnk, err = getBool(m, "fuse_unk", false); err != nil {
		return nil, fmt.Errorf("BPE: %w", err)
	}
	if b.byteFallback, err = getBool(m, "byte_fallback", false); err != nil {
		return nil, fmt.Errorf("BPE: %w", err)
	}
	if b.ignoreMerges, err = getBool(m, "ignore_merges", false); err != nil {
		return nil, fmt.Errorf("BPE: %w", err)
	}
	for c := 0; c < 256; c++ {
		id, ok := vocab[fmt.Sprintf("<0x%02X>", c)]
		if !ok {
			id = -1
		}
		b.byteIDs[c] = id
	}
	var merges []json.RawMessage
	if v, ok := m["merges"]; ok && !isNull(v) {
		if err := json.Unmarshal(v, &merges); err != nil {
			return nil, fmt.Errorf("BPE: field merges: %w", err)
		}
	}
	if len(merges) == 0 && !b.ignoreMerges {
		if err := checkBPEMerges(vocab, b.prefix); err != nil {
			return nil, err
		}
	}
	for i, raw := range merges {
		var l, r string
		var s string
		if err := json.Unmarshal(raw, &s); err == nil {
			parts := strings.Split(s, " ")
			if len(parts) != 2 {
				return nil, fmt.Errorf("BPE: merges[%d] %q is not two tokens separated by a space", i, s)
			}
			l, r = parts[0], parts[1]
		} else {
			var p []string
			if err := json.Unmarshal(raw, &p); err != nil || len(p) != 2 {
				return nil, fmt.Errorf("BPE: merges[%d]: want \"a b\" or [\"a\", \"b\"]", i)
			}
			l, r = p[0], p[1]
		}
		la, ok1 := vocab[l]
		rb, ok2 := vocab[r]
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("BPE: merges[%d]: token %q or %q is not in the vocabulary", i, l, r)
		}
		nw := l + strings.TrimPrefix(r, b.prefix)
		nid, ok := vocab[nw]
		if !ok {
			return nil, fmt.Errorf("BPE: merges[%d]: merged token %q is not in the vocabulary", i, nw)
		}
		if _, dup := b.merges[pair{la, rb}]; !dup {
			b.merges[pair{la, rb}] = mergeInfo{rank: i, newID: nid}
		}
	}
	return b, nil
}

func (b *bpe) size() int    { return len(b.vocab) }
func (b *bpe) idLimit() int { return len(b.rev) }
func (b *bpe) tokenToID(s string) (int64, bool) {
	id, ok := b.vocab[s]
	return id, ok
}
func (b *bpe) idToToken(id int64) (string, bool) {
	if id < 0 || id >= int64(len(b.rev)) || b.rev[id] == "" {
		return "", false
	}
	return b.rev[id], true
}

type symbol struct {
	id   int64
	a, b int // byte offsets
}

func (b *bpe) tokenize(s string, out []token) ([]token, error) {
	if len(s) == 0 {
		return out, nil
	}
	if b.ignoreMerges {
		if id, ok := b.vocab[s]; ok {
			return append(out, token{id: id, val: s, a: 0, b: len(s)}), nil
		}
	}
	// Build the word as Hugging Face's merge_word does, quirks included:
	// byte fallback encodes the prefixed/suffixed string, each byte token
	// advances the offset by one byte, and a pending unknown is only added
	// when a known character or the end of the word comes.
	var syms []symbol
	var buf []byte
	pos := 0
	add := func(id int64, n int) {
		syms = append(syms, symbol{id, pos, pos + n})
		pos += n
	}
	unkPending, unkLen := false, 0
	var unkID int64
	for i, r := range s {
		n := utf8.RuneLen(r)
		if r == utf8.RuneError {
			_, n = utf8.DecodeRuneInString(s[i:])
		}
		buf = buf[:0]
		if i > 0 {
			buf = append(buf, b.prefix...)
		}
		buf = append(buf, s[i:i+n]...)
		if i+n == len(s) {
			buf = append(buf, b.suffix...)
		}
		if id, ok := b.vocab[string(buf)]; ok {
			if unkPending {
				add(unkID, unkLen)
				unkPending = false
			}
			add(id, n)
			continue
		}
		if b.byteFallback {
			all := true
			for _, c := range buf {
				if b.byteIDs[c] < 0 {
					all = false
					break
				}
			}
			if all {
				for _, c := range buf {
					add(b.byteIDs[c], 1)
				}
				continue
			}
		}
		if b.hasUnk {
			id, ok := b.vocab[b.unk]
			if !ok {
				return out, fmt.Errorf("BPE: unk_token %q is not in the vocabulary", b.unk)
			}
			switch {
			case unkPending && b.fuseUnk:
				unkLen += n
			case unkPending:
				add(unkID, unkLen)
				unkID, unkLen = id, n
			default:
				unkPending, unkID, unkLen = true, id, n
			}
		}
	}
	if unkPending {
		add(unkID, unkLen)
	}
	syms = b.mergeAll(syms)
	for _, sy := range syms {
		val := ""
		if sy.id >= 0 && sy.id < int64(len(b.rev)) {
			val = b.rev[sy.id]
		}
		out = append(out, token{id: sy.id, val: val, a: sy.a, b: sy.b})
	}
	return out, nil
}

// ---- ByteLevel pre-tokenizer ----

var byteToRune = func() [256]rune {
	var t [256]rune
	n := 0
	for b := 0; b < 256; b++ {
		if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			t[b] = rune(b)
		} else {
			t[b] = rune(256 + n)
			n++
		}
	}
	return t
}()

type byteLevel struct {
	addPrefixSpace bool
	useRegex       bool
}

func parseByteLevel(m map[string]json.RawMessage) (preTokenizer, error) {
	a, err := getBool(m, "add_prefix_space", true)
	if err != nil {
		return nil, fmt.Errorf("ByteLevel: %w", err)
	}
	u, err := getBool(m, "use_regex", true)
	if err != nil {
		return nil, fmt.Errorf("ByteLevel: %w", err)
	}
	return &byteLevel{addPrefixSpace: a, useRegex: u}, nil
}

func (bl *byteLevel) preTokenize(in []split) []split {
	var out []split
	for _, sp := range in {
		cs := sp.chars
		if len(cs) == 0 {
			continue
		}
		if bl.addPrefixSpace && cs[0].r != ' ' {
			cs = append([]nchar{{' ', cs[0].s, cs[0].e}}, cs...)
		}
		var parts [][]nchar
		if bl.useRegex {
			for _, r := range gpt2Ranges(cs) {
				parts = append(parts, cs[r.a:r.b])
			}
		} else {
			parts = [][]nchar{cs}
		}
		for _, p := range parts {
			var mapped []nchar
			var tmp [4]byte
			for _, c := range p {
				n := utf8.EncodeRune(tmp[:], c.r)
				for k := 0; k < n; k++ {
					mapped = append(mapped, nchar{byteToRune[tmp[k]], c.s, c.e})
				}
			}
			if len(mapped) > 0 {
				out = append(out, split{chars: mapped, origStart: p[0].s})
			}
		}
	}
	return out
}

func isL(r rune) bool { return charClass(r)&clsLetter != 0 }
func isN(r rune) bool { return charClass(r)&clsNumber != 0 }

// gpt2Ranges splits like the GPT-2 pattern
// 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
func gpt2Ranges(cs []nchar) []rng {
	var out []rng
	n := len(cs)
	i := 0
	at := func(k int) rune {
		if k < n {
			return cs[k].r
		}
		return -1
	}
	for i < n {
		c := cs[i].r
		if c == '\'' {
			c1, c2 := at(i+1), at(i+2)
			l := 0
			switch {
			case c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd':
				l = 2
			case (c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l'):
				l = 3
			}
			if l > 0 {
				out = append(out, rng{i, i + l, true})
				i += l
				continue
			}
		}
		j := i
		if c == ' ' {
			j = i + 1
		}
		if j < n {
			cj := cs[j].r
			var class func(rune) bool
			switch {
			case isL(cj):
				class = isL
			case isN(cj):
				class = isN
			case !isSpace(cj):
				class = func(r rune) bool { return !isSpace(r) && !isL(r) && !isN(r) }
			}
			if class != nil {
				k := j + 1
				for k < n && class(cs[k].r) {
					k++
				}
				out = append(out, rng{i, k, true})
				i = k
				continue
			}
		}
		// whitespace run
		k := i
		for k < n && isSpace(cs[k].r) {
			k++
		}
		if k == i { // cannot happen, guard
			k = i + 1
		}
		if k < n && k-1 > i {
			k--
		}
		out = append(out, rng{i, k, true})
		i = k
	}
	return out
}

// mergeEntry is a candidate merge of the symbol at pos with its successor.
type mergeEntry struct {
	pos, rank int
	newID     int64
}

// mergeHeap orders candidates by rank, then position (lowest first).
type mergeHeap []mergeEntry

func (h mergeHeap) Len() int { return len(h) }
func (h mergeHeap) Less(i, j int) bool {
	if h[i].rank != h[j].rank {
		return h[i].rank < h[j].rank
	}
	return h[i].pos < h[j].pos
}
func (h mergeHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *mergeHeap) Push(x any)   { *h = append(*h, x.(mergeEntry)) }
func (h *mergeHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// mergeAll applies merges with a priority queue as Hugging Face's
// Word::merge_all does (O(n log n) in the word length).
func (b *bpe) mergeAll(syms []symbol) []symbol {
	if len(syms) < 2 {
		return syms
	}
	if len(syms) <= 24 {
		// Short words: the same result by repeated scans, without
		// allocating the queue.
		for len(syms) > 1 {
			best, bestRank := -1, 0
			var bestID int64
			for i := 0; i+1 < len(syms); i++ {
				if mi, ok := b.merges[pair{syms[i].id, syms[i+1].id}]; ok && (best < 0 || mi.rank < bestRank) {
					best, bestRank, bestID = i, mi.rank, mi.newID
				}
			}
			if best < 0 {
				break
			}
			syms[best] = symbol{bestID, syms[best].a, syms[best+1].b}
			syms = append(syms[:best+1], syms[best+2:]...)
		}
		return syms
	}
	n := len(syms)
	prev := make([]int, n)
	next := make([]int, n)
	alive := make([]bool, n)
	for i := range syms {
		prev[i], next[i], alive[i] = i-1, i+1, true
	}
	next[n-1] = -1
	h := make(mergeHeap, 0, n)
	for i := 0; i+1 < n; i++ {
		if mi, ok := b.merges[pair{syms[i].id, syms[i+1].id}]; ok {
			h = append(h, mergeEntry{i, mi.rank, mi.newID})
		}
	}
	heap.Init(&h)
	for h.Len() > 0 {
		top := heap.Pop(&h).(mergeEntry)
		if !alive[top.pos] || next[top.pos] < 0 {
			continue
		}
		r := next[top.pos]
		mi, ok := b.merges[pair{syms[top.pos].id, syms[r].id}]
		if !ok || mi.newID != top.newID {
			continue // stale entry
		}
		syms[top.pos] = symbol{top.newID, syms[top.pos].a, syms[r].b}
		alive[r] = false
		next[top.pos] = next[r]
		if next[r] >= 0 {
			prev[next[r]] = top.pos
		}
		if p := prev[top.pos]; p >= 0 {
			if mi, ok := b.merges[pair{syms[p].id, syms[top.pos].id}]; ok {
				heap.Push(&h, mergeEntry{p, mi.rank, mi.newID})
			}
		}
		if nx := next[top.pos]; nx >= 0 {
			if mi, ok := b.merges[pair{syms[top.pos].id, syms[nx].id}]; ok {
				heap.Push(&h, mergeEntry{top.pos, mi.rank, mi.newID})
			}
		}
	}
	out := syms[:0]
	for i, sy := range syms {
		if alive[i] {
			out = append(out, sy)
		}
	}
	return out
}
