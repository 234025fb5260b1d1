package tokenizer

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"sync"
	"unicode/utf8"
)

type model interface {
	tokenize(s string, out []token) ([]token, error)
	size() int    // number of entries (Hugging Face's get_vocab_size)
	idLimit() int // largest id + 1
	tokenToID(s string) (int64, bool)
	idToToken(id int64) (string, bool)
}

// parseModel dispatches on model.type, inferring it for old files: a vocab
// array means Unigram, a vocab object with merges BPE, otherwise WordPiece.
func parseModel(raw json.RawMessage) (model, error) {
	typ, m, err := jsonType(raw)
	if err != nil {
		return nil, err
	}
	if typ == "" {
		v := m["vocab"]
		switch {
		case len(v) > 0 && v[0] == '[':
			typ = "Unigram"
		case m["merges"] != nil:
			typ = "BPE"
		case m["vocab"] != nil:
			typ = "WordPiece"
		default:
			return nil, errors.New(`cannot infer the model type: no "type" and no "vocab"`)
		}
	}
	switch typ {
	case "WordPiece":
		return parseWordPiece(m)
	case "Unigram":
		return parseUnigram(m)
	case "BPE":
		return parseBPE(m)
	case "WordLevel":
		return parseWordLevel(m)
	}
	return nil, fmt.Errorf("unsupported model type %q", typ)
}

func parseVocabMap(m map[string]json.RawMessage) (map[string]int64, []string, error) {
	var vocab map[string]int64
	if err := json.Unmarshal(m["vocab"], &vocab); err != nil {
		return nil, nil, fmt.Errorf("field vocab: %w", err)
	}
	maxID := int64(-1)
	limit := int64(64*len(vocab) + 1<<16) // ids may have gaps, but not huge ones
	for k, id := range vocab {
		if id < 0 || id >= limit || id >= 1<<26 {
			return nil, nil, fmt.Errorf("field vocab: id %d of %q out of range for a vocabulary of %d entries", id, k, len(vocab))
		}
		maxID = max(maxID, id)
	}
	rev := make([]string, maxID+1)
	for k, id := range vocab {
		rev[id] = k
	}
	return vocab, rev, nil
}

// ---- WordPiece ----

type wordPiece struct {
	maxBytes int // longest vocabulary entry without the prefix, in bytes
	vocab    map[string]int64
	rev      []string
	unk      string
	prefix   string
	maxChars int
}

func parseWordPiece(m map[string]json.RawMessage) (model, error) {
	vocab, rev, err := parseVocabMap(m)
	if err != nil {
		return nil, fmt.Errorf("WordPiece: %w", err)
	}
	w := &wordPiece{vocab: vocab, rev: rev, maxChars: 100}
	for k := range vocab {
		w.maxBytes = max(w.maxBytes, len(k))
	}
	if w.unk, err = getString(m, "unk_token", "[UNK]"); err != nil {
		return nil, fmt.Errorf("WordPiece: %w", err)
	}
	if w.prefix, err = getString(m, "continuing_subword_prefix", "##"); err != nil {
		return nil, fmt.Errorf("WordPiece: %w", err)
	}
	if v, ok := m["max_input_chars_per_word"]; ok && !isNull(v) {
		if err := json.Unmarshal(v, &w.maxChars); err != nil {
			return nil, fmt.Errorf("WordPiece: field max_input_chars_per_word: %w", err)
		}
	}
	return w, nil
}

func (w *wordPiece) size() int    { return len(w.vocab) }
func (w *wordPiece) idLimit() int { return len(w.rev) }
func (w *wordPiece) tokenToID(s string) (int64, bool) {
	id, ok := w.vocab[s]
	return id, ok
}
func (w *wordPiece) idToToken(id int64) (string, bool) {
	if id < 0 || id >= int64(len(w.rev)) || w.rev[id] == "" {
		return "", false
	}
	return w.rev[id], true
}

func (w *wordPiece) unkToken(s string, out []token) ([]token, error) {
	id, ok := w.vocab[w.unk]
	if !ok {
		return out, fmt.Errorf("WordPiece: unk_token %q is not in the vocabulary", w.unk)
	}
	return append(out, token{id: id, val: w.unk, a: 0, b: len(s)}), nil
}

func (w *wordPiece) tokenize(s string, out []token) ([]token, error) {
	if utf8.RuneCountInString(s) > w.maxChars {
		return w.unkToken(s, out)
	}
	base := len(out)
	buf := make([]byte, 0, len(w.prefix)+len(s))
	start := 0
	for start < len(s) {
		end := len(s)
		if end-start > w.maxBytes {
			// No entry is longer than maxBytes: skip the impossible lookups.
			end = start + w.maxBytes
			for end > start && !utf8.RuneStart(s[end]) {
				end--
			}
		}
		found := false
		for start < end {
			var id int64
			var ok bool
			if start > 0 {
				buf = append(append(buf[:0], w.prefix...), s[start:end]...)
				id, ok = w.vocab[string(buf)]
			} else {
				id, ok = w.vocab[s[start:end]]
			}
			if ok {
				val := s[start:end]
				if start > 0 {
					val = string(buf)
				}
				out = append(out, token{id: id, val: val, a: start, b: end})
				found = true
				break
			}
			_, n := utf8.DecodeLastRuneInString(s[start:end])
			end -= n
		}
		if !found {
			return w.unkToken(s, out[:base])
		}
		start = end
	}
	return out, nil
}

// ---- WordLevel ----

type wordLevel struct {
	vocab map[string]int64
	rev   []string
	unk   string
}

func parseWordLevel(m map[string]json.RawMessage) (model, error) {
	vocab, rev, err := parseVocabMap(m)
	if err != nil {
		return nil, fmt.Errorf("WordLevel: %w", err)
	}
	w := &wordLevel{vocab: vocab, rev: rev}
	if w.unk, err = getString(m, "unk_token", "<unk>"); err != nil {
		return nil, fmt.Errorf("WordLevel: %w", err)
	}
	return w, nil
}

func (w *wordLevel) size() int    { return len(w.vocab) }
func (w *wordLevel) idLimit() int { return len(w.rev) }
func (w *wordLevel) tokenToID(s string) (int64, bool) {
	id, ok := w.vocab[s]
	return id, ok
}
func (w *wordLevel) idToToken(id int64) (string, bool) {
	if id < 0 || id >= int64(len(w.rev)) || w.rev[id] == "" {
		return "", false
	}
	return w.rev[id], true
}
func (w *wordLevel) tokenize(s string, out []token) ([]token, error) {
	if id, ok := w.vocab[s]; ok {
		return append(out, token{id: id, val: s, a: 0, b: len(s)}), nil
	}
	id, ok := w.vocab[w.unk]
	if !ok {
		return out, fmt.Errorf("WordLevel: unk_token %q is not in the vocabulary", w.unk)
	}
	return append(out, token{id: id, val: w.unk, a: 0, b: len(s)}), nil
}

// ---- Unigram ----

type unigram struct {
	pieces      []string
	scores      []float64
	ids         map[string]int64
	unkID       int64 // -1 when absent
	byteFall    bool
	unkScore    float64
	trie        byteTrie
	byteIDs     [256]int64 // -1 when <0xNN> is missing
	allBytesSet bool
	pool        sync.Pool // *[]bestNode scratch lattices
}

func parseUnigram(m map[string]json.RawMessage) (model, error) {
	var raw [][2]json.RawMessage
	if err := json.Unmarshal(m["vocab"], &raw); err != nil {
		return nil, fmt.Errorf("Unigram: field vocab: %w", err)
	}
	u := &unigram{ids: make(map[string]int64, len(raw)), unkID: -1}
	minScore := math.Inf(1)
	u.pieces = make([]string, len(raw))
	u.scores = make([]float64, len(raw))
	for i, p := range raw {
		if err := json.Unmarshal(p[0], &u.pieces[i]); err != nil {
			return nil, fmt.Errorf("Unigram: vocab[%d][0]: %w", i, err)
		}
		if err := json.Unmarshal(p[1], &u.scores[i]); err != nil {
			return nil, fmt.Errorf("Unigram: vocab[%d][1]: %w", i, err)
		}
		u.ids[u.pieces[i]] = int64(i)
		minScore = math.Min(minScore, u.scores[i])
	}
	if len(raw) == 0 {
		minScore = 0
	}
	u.unkScore = minScore - 10
	if v, ok := m["unk_id"]; ok && !isNull(v) {
		if err := json.Unmarshal(v, &u.unkID); err != nil {
			return nil, fmt.Errorf("Unigram: field unk_id: %w", err)
		}
		if u.unkID < 0 || u.unkID >= int64(len(raw)) {
			return nil, fmt.Errorf("Unigram: unk_id %d is outside the vocabulary (size %d)", u.unkID, len(raw))
		}
	}
	var err error
	if u.byteFall, err = getBool(m, "byte_fallback", false); err != nil {
		return nil, fmt.Errorf("Unigram: %w", err)
	}
	for b := 0; b < 256; b++ {
		id, ok := u.ids[fmt.Sprintf("<0x%02X>", b)]
		if !ok {
			id = -1
		}
		u.byteIDs[b] = id
	}
	u.trie = buildTrie(u.pieces, u.ids)
	return u, nil
}

func (u *unigram) size() int    { return len(u.pieces) }
func (u *unigram) idLimit() int { return len(u.pieces) }
func (u *unigram) tokenToID(s string) (int64, bool) {
	id, ok := u.ids[s]
	return id, ok
}
func (u *unigram) idToToken(id int64) (string, bool) {
	if id < 0 || id >= int64(len(u.pieces)) {
		return "", false
	}
	return u.pieces[id], true
}

type bestNode struct {
	id       int64
	score    float64
	startsAt int32 // -1: unset
}

func (u *unigram) tokenize(s string, out []token) ([]token, error) {
	if len(s) == 0 {
		return out, nil
	}
	np, _ := u.pool.Get().(*[]bestNode)
	if np == nil {
		np = new([]bestNode)
	}
	defer u.pool.Put(np)
	if cap(*np) < len(s)+1 {
		*np = make([]bestNode, len(s)+1)
	}
	nodes := (*np)[:len(s)+1]
	for i := range nodes {
		nodes[i] = bestNode{startsAt: -1}
	}
	for start := 0; start < len(s); {
		till := nodes[start].score
		_, mblen := utf8.DecodeRuneInString(s[start:])
		hasSingle := false
		u.trie.prefixes(s, start, func(end int, id int64) {
			tgt := &nodes[end]
			cand := u.scores[id] + till
			if tgt.startsAt < 0 || cand > tgt.score {
				tgt.score = cand
				tgt.startsAt = int32(start)
				tgt.id = id
			}
			if end-start == mblen {
				hasSingle = true
			}
		})
		if !hasSingle {
			if u.unkID < 0 {
				return out, errors.New("Unigram: text needs an unknown token but the model has no unk_id")
			}
			tgt := &nodes[start+mblen]
			cand := u.unkScore + till
			if tgt.startsAt < 0 || cand > tgt.score {
				tgt.score = cand
				tgt.startsAt = int32(start)
				tgt.id = u.unkID
			}
		}
		start += mblen
	}
	// Backtrack, fusing consecutive unknowns.
	type seg struct{ a, b int }
	var segs []seg
	end := len(s)
	for end > 0 {
		n := nodes[end]
		st := int(n.startsAt)
		if n.id == u.unkID && len(segs) > 0 && u.unkID >= 0 && nodes[segs[len(segs)-1].b].id == u.unkID && segs[len(segs)-1].a == end {
			segs[len(segs)-1].a = st
		} else {
			segs = append(segs, seg{st, end})
		}
		end = st
	}
	for i := len(segs) - 1; i >= 0; i-- {
		a, b := segs[i].a, segs[i].b
		str := s[a:b]
		id, ok := u.ids[str]
		if !ok {
			if u.byteFall {
				all := true
				for k := 0; k < len(str); k++ {
					if u.byteIDs[str[k]] < 0 {
						all = false
						break
					}
				}
				if all {
					for k := 0; k < len(str); k++ {
						out = append(out, token{id: u.byteIDs[str[k]], val: fmt.Sprintf("<0x%02X>", str[k]), a: a, b: b})
					}
					continue
				}
			}
			if u.unkID < 0 {
				return out, errors.New("Unigram: text needs an unknown token but the model has no unk_id")
			}
			id = u.unkID
		}
		out = append(out, token{id: id, val: str, a: a, b: b})
	}
	return out, nil
}

// byteTrie is a trie over piece bytes: children of a node are a sorted run
// in labels/targets.
type byteTrie struct {
	root   [256]int32 // child of the root per byte, -1 none
	first  []int32    // per node: index of its first edge
	count  []int32    // per node: number of edges
	labels []byte
	next   []int32
	value  []int64 // per node: piece id or -1
}

func buildTrie(pieces []string, ids map[string]int64) byteTrie {
	sorted := make([]string, 0, len(pieces))
	for _, p := range pieces {
		if p != "" {
			sorted = append(sorted, p)
		}
	}
	sort.Strings(sorted)
	type edge struct {
		label byte
		to    int32
	}
	// In sorted order an existing child for a byte is always the last one
	// added to its parent.
	kids := [][]edge{nil}
	value := []int64{-1}
	for i, p := range sorted {
		if i > 0 && sorted[i-1] == p {
			continue
		}
		cur := int32(0)
		for k := 0; k < len(p); k++ {
			c := p[k]
			ks := kids[cur]
			if n := len(ks); n > 0 && ks[n-1].label == c {
				cur = ks[n-1].to
				continue
			}
			nx := int32(len(kids))
			kids = append(kids, nil)
			value = append(value, -1)
			kids[cur] = append(kids[cur], edge{c, nx})
			cur = nx
		}
		value[cur] = ids[p]
	}
	t := byteTrie{first: make([]int32, len(kids)), count: make([]int32, len(kids)), value: value}
	for i := range t.root {
		t.root[i] = -1
	}
	for i, ks := range kids {
		t.first[i] = int32(len(t.labels))
		t.count[i] = int32(len(ks))
		for _, e := range ks {
			t.labels = append(t.labels, e.label)
			t.next = append(t.next, e.to)
		}
	}
	for _, e := range kids[0] {
		t.root[e.label] = e.to
	}
	return t
}

// prefixes calls f(end, id) for every piece that is a prefix of s[start:].
func (t *byteTrie) prefixes(s string, start int, f func(end int, id int64)) {
	if start >= len(s) {
		return
	}
	cur := t.root[s[start]]
	i := start + 1
	for cur >= 0 {
		if v := t.value[cur]; v >= 0 {
			f(i, v)
		}
		if i >= len(s) {
			return
		}
		c := s[i]
		lo, hi := t.first[cur], t.first[cur]+t.count[cur]
		nx := int32(-1)
		for lo < hi {
			mid := (lo + hi) / 2
			switch l := t.labels[mid]; {
			case l == c:
				nx = t.next[mid]
				lo = hi
			case l < c:
				lo = mid + 1
			default:
				hi = mid
			}
		}
		cur = nx
		i++
	}
}
