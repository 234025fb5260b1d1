package tokenizer

import (
	"encoding/json"
	"errors"
	"fmt"
)

type postProcessor interface {
	// addedTokens is the number of special tokens added to a single
	// sequence (pair false) or a pair.
	addedTokens(pair bool) int
	// specialIDs lists the ids the processor can add.
	specialIDs() []int64
	// process adds special tokens; b is nil for a single sequence.
	process(a Encoding, b *Encoding, addSpecial bool) Encoding
}

type tmplPiece struct {
	special bool
	name    string // special token name
	second  bool   // sequence B
	typeID  int64
}

type specialTok struct {
	ids    []int64
	tokens []string
}

type templateProcessor struct {
	single  []tmplPiece
	pair    []tmplPiece
	special map[string]specialTok
	// trimOffsets removes leading/trailing spaces from token offsets
	// (RobertaProcessing and ByteLevel with trim_offsets).
	trimOffsets, addPrefixSpace bool
	// template: a TemplateProcessing; with no pair template it encodes a
	// pair as nothing, as Hugging Face does.
	template bool
}

func parsePostProcessor(raw json.RawMessage) (postProcessor, error) {
	typ, m, err := jsonType(raw)
	if err != nil {
		return nil, err
	}
	switch typ {
	case "TemplateProcessing":
		return parseTemplate(m)
	case "BertProcessing", "RobertaProcessing":
		var sep, cls [2]json.RawMessage
		if err := json.Unmarshal(m["sep"], &sep); err != nil {
			return nil, fmt.Errorf("%s.sep: %w", typ, err)
		}
		if err := json.Unmarshal(m["cls"], &cls); err != nil {
			return nil, fmt.Errorf("%s.cls: %w", typ, err)
		}
		var sepTok, clsTok string
		var sepID, clsID int64
		for _, x := range []struct {
			raw json.RawMessage
			dst any
		}{{sep[0], &sepTok}, {sep[1], &sepID}, {cls[0], &clsTok}, {cls[1], &clsID}} {
			if err := json.Unmarshal(x.raw, x.dst); err != nil {
				return nil, fmt.Errorf("%s: sep/cls: %w", typ, err)
			}
		}
		if sepID < 0 || clsID < 0 {
			return nil, fmt.Errorf("%s: negative sep/cls id", typ)
		}
		trim, err := getBool(m, "trim_offsets", true)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", typ, err)
		}
		aps, err := getBool(m, "add_prefix_space", true)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", typ, err)
		}
		return &templateProcessor{
			trimOffsets:    typ == "RobertaProcessing" && trim,
			addPrefixSpace: aps,
			single:         []tmplPiece{{special: true, name: clsTok}, {}, {special: true, name: sepTok}},
			pair:           bertPair(typ, clsTok, sepTok),
			special: map[string]specialTok{
				clsTok: {ids: []int64{clsID}, tokens: []string{clsTok}},
				sepTok: {ids: []int64{sepID}, tokens: []string{sepTok}},
			},
		}, nil
	case "ByteLevel":
		trim, err := getBool(m, "trim_offsets", true)
		if err != nil {
			return nil, fmt.Errorf("ByteLevel: %w", err)
		}
		aps, err := getBool(m, "add_prefix_space", true)
		if err != nil {
			return nil, fmt.Errorf("ByteLevel: %w", err)
		}
		return &templateProcessor{trimOffsets: trim, addPrefixSpace: aps}, nil
	case "Sequence":
		seq, err := parseSequence(m, "processors", parsePostProcessor)
		if err != nil {
			return nil, err
		}
		return seqProcessor(seq), nil
	case "":
		return nil, errors.New(`post_processor without "type"`)
	}
	return nil, fmt.Errorf("unsupported post_processor type %q", typ)
}

// bertPair is the pair template of BertProcessing ([CLS] A [SEP] B:1 [SEP]:1)
// and RobertaProcessing (<s> A </s> </s> B </s>, all type 0).
func bertPair(typ, cls, sep string) []tmplPiece {
	if typ == "RobertaProcessing" {
		return []tmplPiece{{special: true, name: cls}, {}, {special: true, name: sep},
			{special: true, name: sep}, {second: true}, {special: true, name: sep}}
	}
	return []tmplPiece{{special: true, name: cls}, {}, {special: true, name: sep},
		{second: true, typeID: 1}, {special: true, name: sep, typeID: 1}}
}

type templateJSON []struct {
	SpecialToken *struct {
		ID     string `json:"id"`
		TypeID int64  `json:"type_id"`
	} `json:"SpecialToken"`
	Sequence *struct {
		ID     string `json:"id"`
		TypeID int64  `json:"type_id"`
	} `json:"Sequence"`
}

func (tj templateJSON) pieces(field string, special map[string]specialTok) ([]tmplPiece, error) {
	var out []tmplPiece
	for i, p := range tj {
		switch {
		case p.SpecialToken != nil:
			if _, ok := special[p.SpecialToken.ID]; !ok {
				return nil, fmt.Errorf("TemplateProcessing.%s[%d]: special token %q missing from special_tokens", field, i, p.SpecialToken.ID)
			}
			out = append(out, tmplPiece{special: true, name: p.SpecialToken.ID, typeID: p.SpecialToken.TypeID})
		case p.Sequence != nil:
			if p.Sequence.ID != "A" && p.Sequence.ID != "B" {
				return nil, fmt.Errorf("TemplateProcessing.%s[%d]: sequence id %q (want A or B)", field, i, p.Sequence.ID)
			}
			out = append(out, tmplPiece{second: p.Sequence.ID == "B", typeID: p.Sequence.TypeID})
		default:
			return nil, fmt.Errorf("TemplateProcessing.%s[%d]: want SpecialToken or Sequence", field, i)
		}
	}
	return out, nil
}

func parseTemplate(m map[string]json.RawMessage) (postProcessor, error) {
	var single, pair templateJSON
	if err := json.Unmarshal(m["single"], &single); err != nil {
		return nil, fmt.Errorf("TemplateProcessing.single: %w", err)
	}
	if v, ok := m["pair"]; ok && !isNull(v) {
		if err := json.Unmarshal(v, &pair); err != nil {
			return nil, fmt.Errorf("TemplateProcessing.pair: %w", err)
		}
	}
	var special map[string]struct {
		IDs    []int64  `json:"ids"`
		Tokens []string `json:"tokens"`
	}
	if v, ok := m["special_tokens"]; ok && !isNull(v) {
		if err := json.Unmarshal(v, &special); err != nil {
			return nil, fmt.Errorf("TemplateProcessing.special_tokens: %w", err)
		}
	}
	tp := &templateProcessor{special: map[string]specialTok{}, template: true}
	for k, v := range special {
		if len(v.IDs) != len(v.Tokens) {
			return nil, fmt.Errorf("TemplateProcessing.special_tokens[%q]: %d ids but %d tokens", k, len(v.IDs), len(v.Tokens))
		}
		for _, id := range v.IDs {
			if id < 0 {
				return nil, fmt.Errorf("TemplateProcessing.special_tokens[%q]: negative id", k)
			}
		}
		tp.special[k] = specialTok{ids: v.IDs, tokens: v.Tokens}
	}
	var err error
	if tp.single, err = single.pieces("single", tp.special); err != nil {
		return nil, err
	}
	if tp.pair, err = pair.pieces("pair", tp.special); err != nil {
		return nil, err
	}
	return tp, nil
}

func (tp *templateProcessor) specialIDs() []int64 {
	var out []int64
	for _, p := range append(tp.single[:len(tp.single):len(tp.single)], tp.pair...) {
		if p.special {
			out = append(out, tp.special[p.name].ids...)
		}
	}
	return out
}

func (tp *templateProcessor) addedTokens(pair bool) int {
	tmpl := tp.single
	if pair {
		tmpl = tp.pair
	}
	n := 0
	for _, p := range tmpl {
		if p.special {
			n += len(tp.special[p.name].ids)
		}
	}
	return n
}

// trimSpaceOffsets is Hugging Face's byte-level process_offsets.
func trimSpaceOffsets(e *Encoding, addPrefixSpace bool) {
	isSp := func(r rune) bool { return r == 'Ġ' || isSpace(r) }
	offs := make([][2]int, len(e.Offsets))
	copy(offs, e.Offsets)
	for i, tok := range e.Tokens {
		lead, trail := 0, 0
		for _, r := range tok {
			if !isSp(r) {
				break
			}
			lead++
		}
		rs := []rune(tok)
		for k := len(rs) - 1; k >= 0 && isSp(rs[k]); k-- {
			trail++
		}
		o := offs[i]
		if lead > 0 {
			if (i == 0 || o[0] == 0) && addPrefixSpace && lead == 1 {
				lead = 0
			}
			o[0] = min(o[0]+lead, o[1])
		}
		if trail > 0 && o[1] >= trail {
			o[1] = max(o[1]-trail, o[0])
		}
		offs[i] = o
	}
	e.Offsets = offs
}

func (tp *templateProcessor) process(e Encoding, pe *Encoding, addSpecial bool) Encoding {
	if tp.trimOffsets {
		trimSpaceOffsets(&e, tp.addPrefixSpace)
		if pe != nil {
			trimSpaceOffsets(pe, tp.addPrefixSpace)
		}
	}
	tmpl := tp.single
	if pe != nil {
		tmpl = tp.pair
		if tp.template && len(tmpl) == 0 {
			return Encoding{IDs: []int64{}, TypeIDs: []int64{}, AttentionMask: []int64{}, SpecialTokensMask: []int64{}, Tokens: []string{}, Offsets: [][2]int{}}
		}
	}
	if len(tmpl) == 0 {
		if pe != nil {
			return concatEncodings(e, *pe)
		}
		return e
	}
	n := e.Len()
	if pe != nil {
		n += pe.Len()
	}
	if addSpecial {
		n += tp.addedTokens(pe != nil)
	}
	out := Encoding{
		IDs: make([]int64, 0, n), TypeIDs: make([]int64, 0, n), AttentionMask: make([]int64, 0, n),
		SpecialTokensMask: make([]int64, 0, n), Tokens: make([]string, 0, n), Offsets: make([][2]int, 0, n),
	}
	for _, p := range tmpl {
		if p.special {
			if !addSpecial {
				continue
			}
			st := tp.special[p.name]
			for i, id := range st.ids {
				out.IDs = append(out.IDs, id)
				out.TypeIDs = append(out.TypeIDs, p.typeID)
				out.AttentionMask = append(out.AttentionMask, 1)
				out.SpecialTokensMask = append(out.SpecialTokensMask, 1)
				out.Tokens = append(out.Tokens, st.tokens[i])
				out.Offsets = append(out.Offsets, [2]int{})
			}
			continue
		}
		src := &e
		if p.second {
			if pe == nil {
				continue
			}
			src = pe
		}
		out.IDs = append(out.IDs, src.IDs...)
		for range src.IDs {
			out.TypeIDs = append(out.TypeIDs, p.typeID)
		}
		out.AttentionMask = append(out.AttentionMask, src.AttentionMask...)
		out.SpecialTokensMask = append(out.SpecialTokensMask, src.SpecialTokensMask...)
		out.Tokens = append(out.Tokens, src.Tokens...)
		out.Offsets = append(out.Offsets, src.Offsets...)
	}
	return out
}

// concatEncodings joins a pair without special tokens (the second sequence
// gets type id 1 as in Hugging Face's default processing).
func concatEncodings(a, b Encoding) Encoding {
	out := Encoding{
		IDs:               append(append([]int64{}, a.IDs...), b.IDs...),
		TypeIDs:           append([]int64{}, a.TypeIDs...),
		AttentionMask:     append(append([]int64{}, a.AttentionMask...), b.AttentionMask...),
		SpecialTokensMask: append(append([]int64{}, a.SpecialTokensMask...), b.SpecialTokensMask...),
		Tokens:            append(append([]string{}, a.Tokens...), b.Tokens...),
		Offsets:           append(append([][2]int{}, a.Offsets...), b.Offsets...),
	}
	for range b.IDs {
		out.TypeIDs = append(out.TypeIDs, 1)
	}
	return out
}

type seqProcessor []postProcessor

func (s seqProcessor) addedTokens(pair bool) int {
	n := 0
	for _, p := range s {
		n += p.addedTokens(pair)
	}
	return n
}

func (s seqProcessor) specialIDs() []int64 {
	var out []int64
	for _, p := range s {
		out = append(out, p.specialIDs()...)
	}
	return out
}

func (s seqProcessor) process(e Encoding, pe *Encoding, addSpecial bool) Encoding {
	// As in Hugging Face, each processor sees the pair; only the first one
	// that joins it (a template) does so.
	for _, p := range s {
		if tp, ok := p.(*templateProcessor); ok && pe != nil && !tp.template && len(tp.single) == 0 {
			if tp.trimOffsets {
				trimSpaceOffsets(&e, tp.addPrefixSpace)
				trimSpaceOffsets(pe, tp.addPrefixSpace)
			}
			continue
		}
		e = p.process(e, pe, addSpecial)
		pe = nil
	}
	if pe != nil {
		return concatEncodings(e, *pe)
	}
	return e
}
