package tiny

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode"

	"github.com/lair-ir/lair/encoder/modelgen"
)

// Architectures of the tiny model.
const (
	ArchStatic      = "static"      // token embeddings + masked mean pooling
	ArchTransformer = "transformer" // BERT-shaped encoder (modelgen bert)
)

// Config describes the tiny model.
type Config struct {
	Arch      string // static (default) | transformer
	Hidden    int    // width (default 128)
	Layers    int    // transformer layers (default 2)
	Heads     int    // transformer heads (default 4)
	VocabSize int    // vocabulary size cap (default 30000)
	MaxPiece  int    // longest multi-character piece in runes (default 8)
	MaxLength int    // max positions (transformer; default 512)
	Seed      uint64
}

func (c *Config) defaults() error {
	if c.Arch == "" {
		c.Arch = ArchStatic
	}
	if c.Arch != ArchStatic && c.Arch != ArchTransformer {
		return fmt.Errorf("tiny: unknown architecture %q (want static or transformer)", c.Arch)
	}
	if c.Hidden == 0 {
		c.Hidden = 128
	}
	if c.Layers == 0 {
		c.Layers = 2
	}
	if c.Heads == 0 {
		c.Heads = 4
	}
	if c.VocabSize == 0 {
		c.VocabSize = 30000
	}
	if c.MaxPiece == 0 {
		c.MaxPiece = 8
	}
	if c.MaxLength == 0 {
		c.MaxLength = 512
	}
	return nil
}

// Specials are the special tokens, ids 0-4.
var Specials = []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}

// MaxInputCharsPerWord is written into the tokenizer: words longer than
// this become [UNK] (Hugging Face's default, 100, would turn most Thai
// phrases into [UNK]).
const MaxInputCharsPerWord = 1000

// Words normalises and pre-tokenises text as the generated tokenizer does
// (BertNormalizer lowercase without accent stripping, BertPreTokenizer).
func Words(text string) []string { return modelgen.BertWords(text, true) }

// LearnVocab learns a WordPiece vocabulary of at most size tokens from texts.
func LearnVocab(texts []string, size, maxPiece int) []string {
	words := map[string]int{}
	for _, t := range texts {
		for _, w := range Words(t) {
			words[w]++
		}
	}
	vocab := append([]string(nil), Specials...)
	seen := map[string]bool{}
	for _, s := range vocab {
		seen[s] = true
	}
	add := func(t string) {
		if !seen[t] {
			seen[t] = true
			vocab = append(vocab, t)
		}
	}
	// Every character seen, initial and continuation, by frequency.
	chars := map[rune]int{}
	for w, c := range words {
		for _, r := range w {
			chars[r] += c
		}
	}
	rs := make([]rune, 0, len(chars))
	for r := range chars {
		rs = append(rs, r)
	}
	sort.Slice(rs, func(i, j int) bool {
		if chars[rs[i]] != chars[rs[j]] {
			return chars[rs[i]] > chars[rs[j]]
		}
		return rs[i] < rs[j]
	})
	// Complete every script seen at least minScriptChars times with the
	// rest of its letters and marks (BMP only; Han limited to the CJK
	// Unified Ideographs block): a character rare enough to be missing from
	// the training texts must not turn a whole word into [UNK].
	seenRunes := map[rune]bool{}
	for _, r := range rs {
		seenRunes[r] = true
	}
	rs = append(rs, scriptCompletion(chars)...)
	for _, r := range rs {
		add(string(r))
	}
	for _, r := range rs {
		if !modelgen.IsCJK(r) && !modelgen.IsBertPunct(r) {
			add("##" + string(r))
		}
	}
	size += len(vocab) // the cap counts multi-character pieces only
	// Multi-character pieces scored by count x saved tokens.
	score := map[string]int{}
	for w, c := range words {
		rw := []rune(w)
		if len(rw) < 2 {
			continue
		}
		if len(rw) <= 2*maxPiece {
			score[w] += c * (len(rw) - 1)
		}
		for i := 0; i < len(rw); i++ {
			for n := 2; n <= maxPiece && i+n <= len(rw); n++ {
				if i == 0 && n == len(rw) {
					continue // the whole word, counted above
				}
				p := string(rw[i : i+n])
				if i > 0 {
					p = "##" + p
				}
				score[p] += c * (n - 1)
			}
		}
	}
	type sc struct {
		p string
		s int
	}
	cands := make([]sc, 0, len(score))
	for p, s := range score {
		if s >= 2 { // seen at least twice, or once with a long saving
			cands = append(cands, sc{p, s})
		}
	}
	sort.Slice(cands, func(i, j int) bool {
		if cands[i].s != cands[j].s {
			return cands[i].s > cands[j].s
		}
		return cands[i].p < cands[j].p
	})
	for _, c := range cands {
		if len(vocab) >= size {
			break
		}
		add(c.p)
	}
	return vocab
}

const minScriptChars = 500

// scriptCompletion returns, sorted, the letters and marks of every script
// that chars use at least minScriptChars times, except those in chars.
func scriptCompletion(chars map[rune]int) []rune {
	perScript := map[string]int{}
	for r, c := range chars {
		for name, tab := range unicode.Scripts {
			if name != "Common" && name != "Inherited" && unicode.Is(tab, r) {
				perScript[name] += c
				break
			}
		}
	}
	var names []string
	for n, c := range perScript {
		if c >= minScriptChars {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	var out []rune
	for _, n := range names {
		tab := unicode.Scripts[n]
		for _, rg := range tab.R16 {
			for r := rune(rg.Lo); r <= rune(rg.Hi); r += rune(rg.Stride) {
				if _, ok := chars[r]; ok {
					continue
				}
				if n == "Han" && !(r >= 0x4E00 && r <= 0x9FFF) {
					continue
				}
				if unicode.IsLetter(r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r) {
					out = append(out, r)
				}
			}
		}
	}
	return out
}

// TokenizerJSON returns the tokenizer.json of vocab: modelgen's BERT-style
// WordPiece tokenizer with lowercase=true, strip_accents=false and
// max_input_chars_per_word=MaxInputCharsPerWord.
func TokenizerJSON(vocab []string) ([]byte, error) {
	base, err := modelgen.TokenizerJSON(modelgen.ArchBERT, vocab)
	if err != nil {
		return nil, err
	}
	var tj map[string]json.RawMessage
	if err := json.Unmarshal(base, &tj); err != nil {
		return nil, err
	}
	nm, _ := json.Marshal(map[string]any{"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
		"strip_accents": false, "lowercase": true})
	tj["normalizer"] = nm
	var model map[string]json.RawMessage
	if err := json.Unmarshal(tj["model"], &model); err != nil {
		return nil, err
	}
	model["max_input_chars_per_word"] = json.RawMessage(fmt.Sprint(MaxInputCharsPerWord))
	mb, err := marshalOrdered(model, []string{"type", "unk_token", "continuing_subword_prefix", "max_input_chars_per_word", "vocab"})
	if err != nil {
		return nil, err
	}
	tj["model"] = mb
	return marshalOrdered(tj, []string{"version", "truncation", "padding", "added_tokens", "normalizer", "pre_tokenizer", "post_processor", "decoder", "model"})
}

// marshalOrdered writes a JSON object with keys in the given order (then
// any others, sorted), so files are stable and read like Hugging Face's.
func marshalOrdered(m map[string]json.RawMessage, order []string) ([]byte, error) {
	var b strings.Builder
	b.WriteString("{")
	done := map[string]bool{}
	first := true
	emit := func(k string) {
		if !first {
			b.WriteString(",\n")
		}
		first = false
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteString(": ")
		b.Write(m[k])
		done[k] = true
	}
	for _, k := range order {
		if _, ok := m[k]; ok {
			emit(k)
		}
	}
	var rest []string
	for k := range m {
		if !done[k] {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	for _, k := range rest {
		emit(k)
	}
	b.WriteString("}\n")
	return []byte(b.String()), nil
}

// Build writes the tiny model folder (tokenizer.json, config.json,
// model.onnx) into dir from the training texts.
func Build(dir string, texts []string, c Config) error {
	if err := c.defaults(); err != nil {
		return err
	}
	if len(texts) == 0 {
		return fmt.Errorf("tiny: no training texts to learn a vocabulary from")
	}
	vocab := LearnVocab(texts, c.VocabSize, c.MaxPiece)
	tj, err := TokenizerJSON(vocab)
	if err != nil {
		return fmt.Errorf("tiny: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmpTok, err := os.CreateTemp("", "lair-tiny-tokenizer-*.json")
	if err != nil {
		return err
	}
	defer os.Remove(tmpTok.Name())
	if _, err := tmpTok.Write(tj); err != nil {
		tmpTok.Close()
		return err
	}
	if err := tmpTok.Close(); err != nil {
		return err
	}
	mc := modelgen.Config{Arch: modelgen.ArchStatic, Hidden: c.Hidden, Tokenizer: tmpTok.Name(), Seed: c.Seed, MaxPositions: c.MaxLength}
	if c.Arch == ArchTransformer {
		mc.Arch, mc.Layers, mc.Heads = modelgen.ArchBERT, c.Layers, c.Heads
	}
	if err := modelgen.Generate(dir, mc); err != nil {
		return fmt.Errorf("tiny: %w", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "tokenizer.json")); err != nil {
		return fmt.Errorf("tiny: modelgen wrote no tokenizer.json: %w", err)
	}
	return nil
}
