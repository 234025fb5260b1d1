package pairs

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/lair-ir/lair/tables"
)

// jsonPair is the JSONL form of tables.Pair (same field names as the Parquet schema).
type jsonPair struct {
	PairID  *string `json:"pair_id"`
	GroupID *string `json:"group_id"`
	Source  *string `json:"source"`
	Kind    string  `json:"kind"`
	QLang   *string `json:"q_lang"`
	QText   *string `json:"q_text"`
	PLang   *string `json:"p_lang"`
	PText   *string `json:"p_text"`
	NegText string  `json:"neg_text"`
	Split   string  `json:"split"`
}

// ReadFile reads user training pairs from a Parquet file (schema of
// tables.Pair) or a JSONL file (one JSON object per line with the same
// field names; blank lines are skipped) and validates every row. Errors
// name the file and the line (JSONL) or row (Parquet, 1-based).
func ReadFile(ctx context.Context, path string) ([]tables.Pair, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".parquet":
		rows, err := tables.Read[tables.Pair](path)
		if err != nil {
			return nil, err
		}
		v := newValidator()
		for i := range rows {
			if err := v.check(&rows[i]); err != nil {
				return nil, fmt.Errorf("%s: row %d: %w", path, i+1, err)
			}
		}
		if len(rows) == 0 {
			return nil, fmt.Errorf("%s: no pairs", path)
		}
		return rows, nil
	case ".jsonl", ".ndjson", ".json":
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return ReadJSONL(ctx, path, f)
	}
	return nil, fmt.Errorf("%s: unknown pairs file type %q: expected .parquet or .jsonl", path, filepath.Ext(path))
}

// ReadJSONL reads and validates JSONL pairs; name is used in errors.
func ReadJSONL(ctx context.Context, name string, r io.Reader) ([]tables.Pair, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	v := newValidator()
	var out []tables.Pair
	for line := 1; ; line++ {
		if line%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		b, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(b)) > 0 {
			p, perr := decodeLine(b)
			if perr == nil {
				perr = v.check(&p)
			}
			if perr != nil {
				return nil, fmt.Errorf("%s:%d: %w", name, line, perr)
			}
			out = append(out, p)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no pairs", name)
	}
	return out, nil
}

func decodeLine(b []byte) (tables.Pair, error) {
	var j jsonPair
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return tables.Pair{}, fmt.Errorf("column %d: malformed JSON: %v", max(se.Offset, 1), se)
		case errors.As(err, &te):
			return tables.Pair{}, fmt.Errorf("field %q: expected a JSON string, found %s", te.Field, te.Value)
		case errors.Is(err, io.ErrUnexpectedEOF):
			return tables.Pair{}, errors.New("truncated JSON object")
		}
		return tables.Pair{}, fmt.Errorf("%v (expected one object with fields pair_id, group_id, source, kind, q_lang, q_text, p_lang, p_text, neg_text, split)", err)
	}
	if dec.More() {
		return tables.Pair{}, errors.New("more than one JSON value on the line; expected one object per line")
	}
	var missing []string
	get := func(name string, s *string) string {
		if s == nil {
			missing = append(missing, name)
			return ""
		}
		return *s
	}
	p := tables.Pair{
		PairID: get("pair_id", j.PairID), GroupID: get("group_id", j.GroupID), Source: get("source", j.Source),
		Kind: j.Kind, QLang: get("q_lang", j.QLang), QText: get("q_text", j.QText),
		PLang: get("p_lang", j.PLang), PText: get("p_text", j.PText), NegText: j.NegText, Split: j.Split,
	}
	if len(missing) > 0 {
		return p, fmt.Errorf("missing field(s) %s", strings.Join(missing, ", "))
	}
	return p, nil
}

type validator struct{ ids map[string]bool }

func newValidator() *validator { return &validator{ids: map[string]bool{}} }

func isLang(s string) bool {
	return len(s) == 2 && s[0] >= 'a' && s[0] <= 'z' && s[1] >= 'a' && s[1] <= 'z'
}

// check validates one pair and fills the defaults (kind from the
// languages, split "train").
func (v *validator) check(p *tables.Pair) error {
	for _, f := range []struct{ name, val string }{
		{"pair_id", p.PairID}, {"group_id", p.GroupID}, {"source", p.Source},
		{"q_text", p.QText}, {"p_text", p.PText},
	} {
		if strings.TrimSpace(f.val) == "" {
			return fmt.Errorf("field %s is empty", f.name)
		}
	}
	for _, f := range []struct{ name, val string }{
		{"pair_id", p.PairID}, {"group_id", p.GroupID}, {"source", p.Source},
		{"q_text", p.QText}, {"p_text", p.PText}, {"neg_text", p.NegText},
	} {
		if !utf8.ValidString(f.val) {
			return fmt.Errorf("field %s is not valid UTF-8", f.name)
		}
	}
	if !isLang(p.QLang) {
		return fmt.Errorf("field q_lang %q: expected an ISO 639-1 code (two lowercase letters)", p.QLang)
	}
	if !isLang(p.PLang) {
		return fmt.Errorf("field p_lang %q: expected an ISO 639-1 code (two lowercase letters)", p.PLang)
	}
	want := "cross"
	if p.QLang == p.PLang {
		want = "mono"
	}
	switch p.Kind {
	case "":
		p.Kind = want
	case want:
	case "mono", "cross":
		return fmt.Errorf("field kind %q contradicts q_lang %s / p_lang %s (expected %q)", p.Kind, p.QLang, p.PLang, want)
	default:
		return fmt.Errorf("field kind %q: expected \"mono\" or \"cross\"", p.Kind)
	}
	switch p.Split {
	case "":
		p.Split = SplitTrain
	case SplitTrain, SplitValidation:
	default:
		return fmt.Errorf("field split %q: expected %q or %q", p.Split, SplitTrain, SplitValidation)
	}
	if v.ids[p.PairID] {
		return fmt.Errorf("field pair_id %q is used twice; expected unique ids", p.PairID)
	}
	v.ids[p.PairID] = true
	return nil
}
