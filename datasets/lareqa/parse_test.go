package lareqa

import (
	"context"
	"os"
	"strings"
	"testing"
)

var tinySpec = Spec{Name: "tiny", Languages: []string{"de", "en"}, License: "test"}

func TestTiny(t *testing.T) {
	r, err := LoadFiles(context.Background(), tinySpec, []string{"de", "en"},
		map[string]string{"de": "testdata/tiny-de.json", "en": "testdata/tiny-en.json"})
	if err != nil {
		t.Fatal(err)
	}
	var got strings.Builder
	for _, q := range r.Queries {
		got.WriteString("Q " + q.QID + " " + q.GroupID + " " + q.Lang + " " + q.Text + "\n")
	}
	for _, c := range r.Candidates {
		got.WriteString("C " + c.CID + " " + c.DocID + " " + c.Text + "\n")
	}
	for _, q := range r.Qrels {
		got.WriteString("R " + q.QID + " " + q.CID + "\n")
	}
	want := `Q tiny/de/q1 q1 de Was ist erster?
Q tiny/de/q2 q2 de Was ist zweiter?
Q tiny/en/q1 q1 en What is first?
Q tiny/en/q2 q2 en What is second?
C tiny/de/0 tiny/de/0/0 Älpha ist erster.
C tiny/de/1 tiny/de/0/0 Beta ist zweiter.
C tiny/en/0 tiny/en/0/0 Alpha is first.
C tiny/en/1 tiny/en/0/0 Beta is second.
R tiny/de/q1 tiny/de/0
R tiny/de/q1 tiny/en/0
R tiny/de/q2 tiny/de/1
R tiny/de/q2 tiny/en/1
R tiny/en/q1 tiny/de/0
R tiny/en/q1 tiny/en/0
R tiny/en/q2 tiny/de/1
R tiny/en/q2 tiny/en/1
`
	if got.String() != want {
		t.Errorf("got\n%s\nwant\n%s", got.String(), want)
	}
	// en q2's answer text runs past its sentence (trailing space).
	if len(r.Crossings) != 1 || r.Crossings[0].QID != "tiny/en/q2" {
		t.Errorf("crossings = %+v", r.Crossings)
	}
	if r.Stats[1].AnswersCrossingBreak != 1 || r.Stats[0].Qrels != 4 {
		t.Errorf("stats = %+v", r.Stats)
	}
	// Subset and bad language.
	if _, err := Languages(XQuADR, []string{"de", "xx"}); err == nil || !strings.Contains(err.Error(), `"xx"`) {
		t.Errorf("err = %v", err)
	}
	if l, _ := Languages(XQuADR, []string{"zh", "de"}); strings.Join(l, ",") != "de,zh" {
		t.Errorf("languages = %v", l)
	}
}

func TestMissingLanguageFile(t *testing.T) {
	_, err := LoadDir(context.Background(), tinySpec, "testdata", []string{"de"})
	if err == nil || !strings.Contains(err.Error(), "de.json") {
		t.Fatalf("err = %v", err)
	}
}

func TestBadInput(t *testing.T) {
	good, _ := os.ReadFile("testdata/tiny-en.json")
	g := string(good)
	for _, tc := range []struct{ name, in, want string }{
		{"truncated", g[:120], "tiny.json:1:121 (byte 120): truncated JSON"},
		{"malformed", strings.Replace(g, `"title": "T",`, `"title": "T" "x",`, 1), "tiny.json:1:25 (byte 24): malformed JSON"},
		{"type", strings.Replace(g, `"answer_start": 0`, `"answer_start": "0"`, 1), `field "data.paragraphs.qas.answers.answer_start": expected int`},
		{"empty", "  ", "empty file"},
		{"no data", `{"version": 1}`, `no "data" array`},
		{"trailing", g + "}", "unexpected data after"},
		{"break outside", strings.Replace(g, "[16, 31]", "[16, 40]", 1), "data[0].paragraphs[0].sentence_breaks[1]: [16, 40] is outside the context (31 characters)"},
		{"break count", strings.Replace(g, "[[0, 15], [16, 31]]", "[[0, 15]]", 1), "2 sentences but 1 sentence_breaks"},
		{"answer outside sentences", strings.Replace(g, `"answer_start": 16`, `"answer_start": 15`, 1), "qas[1] (id q2): answer_start 15 lies in no sentence"},
		{"answer outside context", strings.Replace(g, `"answer_start": 16`, `"answer_start": 99`, 1), "answer_start 99 is outside the context"},
		{"duplicate id", strings.Replace(g, `"id": "q2"`, `"id": "q1"`, 1), `question id "q1" already used`},
		{"no answers", strings.Replace(g, `"answers": [{"answer_start": 0, "text": "Alpha"}]`, `"answers": []`, 1), "no answers"},
	} {
		_, err := ParseBytes("tiny.json", []byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to contain %q", tc.name, err, tc.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, p := range []string{"testdata/tiny-en.json", "testdata/tiny-de.json"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"data":[{"paragraphs":[{"context":"ab","sentences":["a"],"sentence_breaks":[[0,1]],"qas":[{"id":"x","answers":[{"answer_start":1}]}]}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := ParseBytes("fuzz.json", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.json") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		// A file that parses must build without panicking.
		if _, err := Build(Spec{Name: "f"}, []string{"xx"}, map[string]*File{"xx": file}); err != nil {
			t.Fatal(err)
		}
	})
}
