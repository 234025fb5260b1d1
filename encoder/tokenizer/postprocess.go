package tokenizer

import (
	"encoding/json"
	"errors"
	"fmt"
)

type postProcessor interface {
	// addedTokens is the number of special tokens added to a single sequence.
	addedTokens() int
	// specialIDs lists the ids the processor can add.
	specialIDs() []int64
	process(e Encoding, addSpecial bool) Encoding
}

type tmplPiece struct {
	special bool
	name    string // special token name
	typeID  int64
}

type specialTok struct {
	ids    []int64
	tokens []string
}

type templateProcessor struct {
	single  []tmplPiece
	special map[string]specialTok
	// trimOffsets removes leading/trailing spaces from token offsets
	// (RobertaProcessing and ByteLevel with trim_offsets).
	trimOffsets, addPrefixSpace bool
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
		var list []json.RawMessage
		if err := json.Unmarshal(m["processors"], &list); err != nil {
			return nil, fmt.Errorf("Sequence.processors: %w", err)
		}
		var seq seqProcessor
		for i, r := range list {
			p, err := parsePostProcessor(r)
			if err != nil {
				return nil, fmt.Errorf("Sequence.processors[%d]: %w", i, err)
			}
			seq = append(seq, p)
		}
		return seq, nil
	case "":
		return nil, errors.New(`post_processor without "type"`)
	}
	return nil, fmt.Errorf("unsupported post_processor type %q", typ)
}

func parseTemplate(m map[string]json.RawMessage) (postProcessor, error) {
	var single []struct {
		SpecialToken *struct {
			ID     string `json:"id"`
			TypeID int64  `json:"type_id"`
		} `json:"SpecialToken"`
		Sequence *struct {
			ID     string `json:"id"`
			TypeID int64  `json:"type_id"`
		} `json:"Sequence"`
	}
	if err := json.Unmarshal(m["single"], &single); err != nil {
		return nil, fmt.Errorf("TemplateProcessing.single: %w", err)
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
	tp := &templateProcessor{special: map[string]specialTok{}}
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
	for i, p := range single {
		switch {
		case p.SpecialToken != nil:
			if _, ok := tp.special[p.SpecialToken.ID]; !ok {
				return nil, fmt.Errorf("TemplateProcessing.single[%d]: special token %q missing from special_tokens", i, p.SpecialToken.ID)
			}
			tp.single = append(tp.single, tmplPiece{special: true, name: p.SpecialToken.ID, typeID: p.SpecialToken.TypeID})
		case p.Sequence != nil:
			tp.single = append(tp.single, tmplPiece{typeID: p.Sequence.TypeID})
		default:
			return nil, fmt.Errorf("TemplateProcessing.single[%d]: want SpecialToken or Sequence", i)
		}
	}
	return tp, nil
}

func (tp *templateProcessor) specialIDs() []int64 {
	var out []int64
	for _, p := range tp.single {
		if p.special {
			out = append(out, tp.special[p.name].ids...)
		}
	}
	return out
}

func (tp *templateProcessor) addedTokens() int {
	n := 0
	for _, p := range tp.single {
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

func (tp *templateProcessor) process(e Encoding, addSpecial bool) Encoding {
	if tp.trimOffsets {
		trimSpaceOffsets(&e, tp.addPrefixSpace)
	}
	if len(tp.single) == 0 {
		return e
	}
	n := e.Len()
	if addSpecial {
		n += tp.addedTokens()
	}
	out := Encoding{
		IDs: make([]int64, 0, n), TypeIDs: make([]int64, 0, n), AttentionMask: make([]int64, 0, n),
		SpecialTokensMask: make([]int64, 0, n), Tokens: make([]string, 0, n), Offsets: make([][2]int, 0, n),
	}
	for _, p := range tp.single {
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
		out.IDs = append(out.IDs, e.IDs...)
		for range e.IDs {
			out.TypeIDs = append(out.TypeIDs, p.typeID)
		}
		out.AttentionMask = append(out.AttentionMask, e.AttentionMask...)
		out.SpecialTokensMask = append(out.SpecialTokensMask, e.SpecialTokensMask...)
		out.Tokens = append(out.Tokens, e.Tokens...)
		out.Offsets = append(out.Offsets, e.Offsets...)
	}
	return out
}

type seqProcessor []postProcessor

func (s seqProcessor) addedTokens() int {
	n := 0
	for _, p := range s {
		n += p.addedTokens()
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

func (s seqProcessor) process(e Encoding, addSpecial bool) Encoding {
	for _, p := range s {
		e = p.process(e, addSpecial)
	}
	return e
}
