package lareqa

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lair-ir/lair/datasets"
	"github.com/lair-ir/lair/tables"
)

var update = flag.Bool("update", false, "rewrite golden files")

// dumpArtifact renders every table and meta.json of an artifact as text.
func dumpArtifact(t *testing.T, dir string) string {
	t.Helper()
	d, err := datasets.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, q := range d.Queries {
		fmt.Fprintf(&b, "query %s|%s|%s|%s|%s|%s\n", q.Dataset, q.Split, q.QID, q.GroupID, q.Lang, q.Text)
	}
	for _, c := range d.Candidates {
		fmt.Fprintf(&b, "candidate %s|%s|%s|%s|%s|%s\n", c.Dataset, c.CID, c.Lang, c.Text, c.Context, c.DocID)
	}
	for _, r := range d.Qrels {
		fmt.Fprintf(&b, "qrel %s|%s|%s|%d\n", r.Dataset, r.QID, r.CID, r.Relevance)
	}
	st, err := tables.Read[LangStats](filepath.Join(dir, datasets.StatsFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range st {
		fmt.Fprintf(&b, "stats %+v\n", s)
	}
	kv, _ := tables.Metadata(filepath.Join(dir, datasets.QueriesFile))
	fmt.Fprintf(&b, "parquet metadata dataset=%s license=%s\n", kv["dataset"], kv["license"])
	m, _ := os.ReadFile(filepath.Join(dir, datasets.MetaFile))
	b.WriteString("meta.json " + string(m))
	return b.String()
}

func checkGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("%s differs (go test -update rewrites it):\ngot\n%s\nwant\n%s", path, got, want)
	}
}

var tinySpec = Spec{Name: "tiny", Languages: []string{"de", "en"}, License: "test"}

func TestTiny(t *testing.T) {
	r, err := LoadFiles(context.Background(), tinySpec, []string{"de", "en"},
		map[string]string{"de": "testdata/tiny-de.json", "en": "testdata/tiny-en.json"})
	if err != nil {
		t.Fatal(err)
	}
	// Write the artifact, read it back and compare with the golden dump.
	dir := t.TempDir()
	if err := r.Write(dir); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "testdata/tiny.golden", dumpArtifact(t, dir))
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
