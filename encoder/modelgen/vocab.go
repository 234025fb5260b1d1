package modelgen

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"unicode"
)

// Special tokens of the generated tokenizers, in id order.
var (
	bertSpecials = []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}
	xlmrSpecials = []string{"<s>", "<pad>", "</s>", "<unk>", "<mask>"}
)

// specials describes the special tokens of one architecture.
type specials struct {
	tokens                  []string
	pad, unk, cls, sep, msk string
}

func specialsFor(arch string) specials {
	if arch == ArchXLMR {
		return specials{xlmrSpecials, "<pad>", "<unk>", "<s>", "</s>", "<mask>"}
	}
	return specials{bertSpecials, "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}
}

// defaultScripts are the character ranges of the built-in vocabulary: enough
// for the languages of XQuAD-R, MLQA-R and MIRACL (Latin incl. Vietnamese and
// Turkish letters, Greek, Cyrillic, Arabic, Devanagari, Bengali, Telugu,
// Thai, CJK). Hangul is left out (11,172 syllables); build the vocabulary from
// a corpus for Korean.
var defaultScripts = [][2]rune{
	{0x21, 0x7E},     // ASCII printable
	{0xA1, 0xFF},     // Latin-1 supplement
	{0x100, 0x17F},   // Latin Extended-A (Turkish, ...)
	{0x1A0, 0x1B0},   // Vietnamese horned letters
	{0x300, 0x36F},   // combining diacritics
	{0x386, 0x3CE},   // Greek
	{0x400, 0x45F},   // Cyrillic
	{0x600, 0x6FF},   // Arabic
	{0x900, 0x97F},   // Devanagari
	{0x980, 0x9FF},   // Bengali
	{0xC00, 0xC7F},   // Telugu
	{0xE01, 0xE5B},   // Thai
	{0x1EA0, 0x1EF9}, // Vietnamese
	{0x2010, 0x2044}, // punctuation
	{0x3001, 0x30FF}, // CJK punctuation, kana
	{0x4E00, 0x9FFF}, // CJK unified ideographs
}

// IsCJK mirrors the Hugging Face BertNormalizer's handle_chinese_chars test.
func IsCJK(r rune) bool {
	return (r >= 0x4E00 && r <= 0x9FFF) || (r >= 0x3400 && r <= 0x4DBF) ||
		(r >= 0x20000 && r <= 0x2A6DF) || (r >= 0x2A700 && r <= 0x2B73F) ||
		(r >= 0x2B740 && r <= 0x2B81F) || (r >= 0x2B820 && r <= 0x2CEAF) ||
		(r >= 0xF900 && r <= 0xFAFF) || (r >= 0x2F800 && r <= 0x2FA1F)
}

// IsBertPunct mirrors the BertPreTokenizer's punctuation test.
func IsBertPunct(r rune) bool {
	if (r >= 33 && r <= 47) || (r >= 58 && r <= 64) || (r >= 91 && r <= 96) || (r >= 123 && r <= 126) {
		return true
	}
	return unicode.IsPunct(r)
}

// BertWords splits text into words as the Hugging Face BertNormalizer (no
// accent stripping; lowercasing every rune when lowercase is set) and
// BertPreTokenizer do: whitespace separates, punctuation and CJK characters
// stand alone, control characters are dropped.
func BertWords(text string, lowercase bool) []string {
	var words []string
	var cur strings.Builder
	flush := func() {
		if cur.Len() > 0 {
			words = append(words, cur.String())
			cur.Reset()
		}
	}
	rs := func(r rune) string {
		if lowercase {
			return strings.ToLower(string(r))
		}
		return string(r)
	}
	for _, r := range text {
		switch {
		case r == 0 || r == 0xFFFD || (unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r'):
			continue
		case unicode.IsSpace(r):
			flush()
		case IsBertPunct(r) || IsCJK(r):
			flush()
			words = append(words, rs(r))
		default:
			cur.WriteString(rs(r))
		}
	}
	flush()
	return words
}

// BuildVocab returns a WordPiece vocabulary for arch ("bert", "xlmr",
// "static"): the special tokens, then single characters and their "##"
// continuations, then whole words by descending frequency. With no corpus the
// characters come from built-in script ranges. size > 0 caps the vocabulary
// (characters are kept by frequency); a larger size than the candidates is
// padded with "[unusedN]" tokens so the embedding matrix has exactly size rows.
func BuildVocab(arch string, corpus []string, size int) []string {
	sp := specialsFor(arch)
	vocab := append([]string(nil), sp.tokens...)
	seen := map[string]bool{}
	for _, t := range vocab {
		seen[t] = true
	}
	add := func(t string) {
		if !seen[t] && (size <= 0 || len(vocab) < size) {
			seen[t] = true
			vocab = append(vocab, t)
		}
	}
	if len(corpus) == 0 {
		for _, rg := range defaultScripts {
			for r := rg[0]; r <= rg[1]; r++ {
				if unicode.IsPrint(r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r) {
					add(string(r))
				}
			}
		}
		for _, rg := range defaultScripts {
			for r := rg[0]; r <= rg[1]; r++ {
				if !IsCJK(r) && !IsBertPunct(r) && (unicode.IsPrint(r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r)) {
					add("##" + string(r))
				}
			}
		}
	} else {
		words := map[string]int{}
		chars := map[rune]int{}
		cont := map[rune]int{}
		for _, text := range corpus {
			for _, w := range BertWords(text, false) {
				words[w]++
				for i, r := range w {
					if i == 0 {
						chars[r]++
					} else {
						cont[r]++
					}
				}
			}
		}
		for _, r := range byCount(chars) {
			add(string(r))
		}
		for _, r := range byCount(cont) {
			add("##" + string(r))
		}
		type wc struct {
			w string
			c int
		}
		var ws []wc
		for w, c := range words {
			if c >= 2 && len([]rune(w)) > 1 && len(w) <= 100 {
				ws = append(ws, wc{w, c})
			}
		}
		sort.Slice(ws, func(i, j int) bool {
			if ws[i].c != ws[j].c {
				return ws[i].c > ws[j].c
			}
			return ws[i].w < ws[j].w
		})
		for _, x := range ws {
			add(x.w)
		}
	}
	for i := 0; size > 0 && len(vocab) < size; i++ {
		add(fmt.Sprintf("[unused%d]", i))
	}
	return vocab
}

func byCount(m map[rune]int) []rune {
	out := make([]rune, 0, len(m))
	for r := range m {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool {
		if m[out[i]] != m[out[j]] {
			return m[out[i]] > m[out[j]]
		}
		return out[i] < out[j]
	})
	return out
}

// TokenizerJSON returns a Hugging Face tokenizer.json for a WordPiece vocab
// built by BuildVocab: BertNormalizer (clean text, CJK splitting, no
// lowercasing, no accent stripping), BertPreTokenizer, WordPiece with "##"
// continuations, and a template adding [CLS] ... [SEP] (<s> ... </s> for xlmr).
func TokenizerJSON(arch string, vocab []string) ([]byte, error) {
	sp := specialsFor(arch)
	ids := make(map[string]int, len(vocab))
	for i, t := range vocab {
		ids[t] = i
	}
	for _, t := range []string{sp.pad, sp.unk, sp.cls, sp.sep, sp.msk} {
		if _, ok := ids[t]; !ok {
			return nil, fmt.Errorf("tokenizer vocab lacks the special token %s", t)
		}
	}
	added := make([]map[string]any, 0, len(sp.tokens))
	for _, t := range sp.tokens {
		added = append(added, map[string]any{
			"id": ids[t], "content": t, "single_word": false, "lstrip": false, "rstrip": false,
			"normalized": false, "special": true,
		})
	}
	special := func(t string) map[string]any {
		return map[string]any{"SpecialToken": map[string]any{"id": t, "type_id": 0}}
	}
	seq := func(id string, typeID int) map[string]any {
		return map[string]any{"Sequence": map[string]any{"id": id, "type_id": typeID}}
	}
	tj := map[string]any{
		"version":      "1.0",
		"truncation":   nil,
		"padding":      nil,
		"added_tokens": added,
		"normalizer": map[string]any{
			"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
			"strip_accents": false, "lowercase": false,
		},
		"pre_tokenizer": map[string]any{"type": "BertPreTokenizer"},
		"post_processor": map[string]any{
			"type":   "TemplateProcessing",
			"single": []any{special(sp.cls), seq("A", 0), special(sp.sep)},
			"pair":   []any{special(sp.cls), seq("A", 0), special(sp.sep), seq("B", 1), special(sp.sep)},
			"special_tokens": map[string]any{
				sp.cls: map[string]any{"id": sp.cls, "ids": []int{ids[sp.cls]}, "tokens": []string{sp.cls}},
				sp.sep: map[string]any{"id": sp.sep, "ids": []int{ids[sp.sep]}, "tokens": []string{sp.sep}},
			},
		},
		"decoder": map[string]any{"type": "WordPiece", "prefix": "##", "cleanup": true},
		"model": map[string]any{
			"type": "WordPiece", "unk_token": sp.unk, "continuing_subword_prefix": "##",
			"max_input_chars_per_word": 100, "vocab": orderedVocab(vocab),
		},
	}
	return json.MarshalIndent(tj, "", "  ")
}

// orderedVocab marshals as a JSON object whose keys appear in id order (as
// Hugging Face writes them), which keeps the file readable and stable.
type orderedVocab []string

func (v orderedVocab) MarshalJSON() ([]byte, error) {
	var b strings.Builder
	b.WriteByte('{')
	for i, t := range v {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(t)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		fmt.Fprintf(&b, ":%d", i)
	}
	b.WriteByte('}')
	return []byte(b.String()), nil
}

// tokenizerInfo is what modelgen needs from an existing tokenizer.json.
type tokenizerInfo struct {
	size int
	pad  int
}

// readTokenizerInfo reads the vocabulary size (largest id + 1 over the model
// vocabulary and added tokens) and the padding id of a tokenizer.json.
func readTokenizerInfo(path string) (tokenizerInfo, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return tokenizerInfo{}, err
	}
	var tj struct {
		AddedTokens []struct {
			ID      int    `json:"id"`
			Content string `json:"content"`
		} `json:"added_tokens"`
		Model struct {
			Vocab json.RawMessage `json:"vocab"`
		} `json:"model"`
	}
	if err := json.Unmarshal(b, &tj); err != nil {
		return tokenizerInfo{}, fmt.Errorf("%s: %w", path, err)
	}
	info := tokenizerInfo{pad: -1}
	note := func(tok string, id int) {
		if id+1 > info.size {
			info.size = id + 1
		}
		if info.pad < 0 && (tok == "[PAD]" || tok == "<pad>") {
			info.pad = id
		}
	}
	var asMap map[string]int
	var asList [][2]any
	switch {
	case len(tj.Model.Vocab) == 0:
		return tokenizerInfo{}, fmt.Errorf("%s: model.vocab is missing", path)
	case json.Unmarshal(tj.Model.Vocab, &asMap) == nil:
		for t, id := range asMap {
			note(t, id)
		}
	case json.Unmarshal(tj.Model.Vocab, &asList) == nil:
		for id, e := range asList {
			s, _ := e[0].(string)
			note(s, id)
		}
	default:
		return tokenizerInfo{}, fmt.Errorf("%s: model.vocab is neither an object nor a list", path)
	}
	for _, a := range tj.AddedTokens {
		note(a.Content, a.ID)
	}
	if info.pad < 0 {
		info.pad = 0
	}
	return info, nil
}
