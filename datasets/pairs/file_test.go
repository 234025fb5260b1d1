package pairs

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lair-ir/lair/datasets"
	"github.com/lair-ir/lair/tables"
)

const good = `{"pair_id":"p1","group_id":"g1","source":"mine","kind":"mono","q_lang":"en","q_text":"Who?","p_lang":"en","p_text":"Him.","split":"train"}

{"pair_id":"p2","group_id":"g1","source":"mine","q_lang":"en","q_text":"Who?","p_lang":"de","p_text":"Er.","neg_text":"Sie."}
`

func TestReadJSONL(t *testing.T) {
	ps, err := ReadJSONL(context.Background(), "u.jsonl", strings.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 || ps[1].Kind != "cross" || ps[1].Split != "train" || ps[1].NegText != "Sie." {
		t.Errorf("%+v", ps)
	}
	// Through a file, and the Parquet round trip of what was read.
	dir := t.TempDir()
	p := filepath.Join(dir, "u.jsonl")
	os.WriteFile(p, []byte(good), 0o644)
	ps2, err := ReadFile(context.Background(), p)
	if err != nil || len(ps2) != 2 {
		t.Fatal(ps2, err)
	}
	if err := Write(dir, ps2, datasets.Meta{Dataset: "mine"}); err != nil {
		t.Fatal(err)
	}
	back, err := tables.Read[tables.Pair](filepath.Join(dir, datasets.PairsFile))
	if err != nil || back[0] != ps2[0] || back[1] != ps2[1] {
		t.Errorf("round trip %+v %v", back, err)
	}
}

func TestReadFileErrors(t *testing.T) {
	line1 := strings.SplitN(good, "\n", 2)[0]
	for _, tc := range []struct{ in, want string }{
		{line1 + "\n" + `{"pair_id":"p2"`, "u.jsonl:2: truncated JSON"},
		{line1 + "\n" + `{"pair_id":"p2",}`, "u.jsonl:2: column 17: malformed JSON"},
		{strings.Replace(line1, `"q_text":"Who?",`, "", 1), "u.jsonl:1: missing field(s) q_text"},
		{strings.Replace(line1, `"q_text":"Who?"`, `"q_text":""`, 1), "u.jsonl:1: field q_text is empty"},
		{strings.Replace(line1, `"q_text":"Who?"`, `"q_text":7`, 1), `u.jsonl:1: field "q_text": expected a JSON string, found number`},
		{strings.Replace(line1, `"q_lang":"en"`, `"q_lang":"eng"`, 1), `field q_lang "eng": expected an ISO 639-1 code`},
		{strings.Replace(line1, `"kind":"mono"`, `"kind":"cross"`, 1), `field kind "cross" contradicts q_lang en / p_lang en`},
		{strings.Replace(line1, `"split":"train"`, `"split":"dev"`, 1), `field split "dev"`},
		{strings.Replace(line1, `"split":"train"`, `"score":1`, 1), `unknown field "score"`},
		{line1 + "\n" + line1, `u.jsonl:2: field pair_id "p1" is used twice`},
		{line1 + " {}", "more than one JSON value"},
		{"\n\n", "u.jsonl: no pairs"},
	} {
		_, err := ReadJSONL(context.Background(), "u.jsonl", strings.NewReader(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err = %v, want %q", tc.in, err, tc.want)
		}
	}
	// Parquet rows are validated too, naming the row.
	dir := t.TempDir()
	bad := []tables.Pair{{PairID: "a", GroupID: "g", Source: "s", QLang: "en", QText: "q", PLang: "en", PText: "p"}, {PairID: "b", GroupID: "g", Source: "s", QLang: "EN", QText: "q", PLang: "en", PText: "p"}}
	p := filepath.Join(dir, "bad.parquet")
	if err := tables.Write(p, bad, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFile(context.Background(), p); err == nil || !strings.Contains(err.Error(), "bad.parquet: row 2: field q_lang") {
		t.Errorf("err = %v", err)
	}
	if _, err := ReadFile(context.Background(), "x.csv"); err == nil || !strings.Contains(err.Error(), "expected .parquet or .jsonl") {
		t.Errorf("err = %v", err)
	}
}

func FuzzReadJSONL(f *testing.F) {
	f.Add([]byte(good))
	f.Add([]byte(`{"pair_id":"x"}`))
	f.Add([]byte("{\"pair_id\":\"p\",\"group_id\":\"g\",\"source\":\"s\",\"q_lang\":\"en\",\"q_text\":\"\xff\",\"p_lang\":\"en\",\"p_text\":\"p\"}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ps, err := ReadJSONL(context.Background(), "f.jsonl", strings.NewReader(string(b)))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.jsonl") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		v := newValidator()
		for i := range ps {
			if err := v.check(&ps[i]); err != nil {
				t.Fatalf("accepted pair fails validation: %v", err)
			}
		}
	})
}
