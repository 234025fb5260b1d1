package miracl

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/lair-ir/lair/datasets"
	"github.com/lair-ir/lair/internal/testenv"
	"github.com/lair-ir/lair/tables"
)

func rawFiles(t *testing.T, langs []string) map[string]Files {
	raw := filepath.Join(testenv.RawDir(t), "miracl")
	out := map[string]Files{}
	for _, l := range langs {
		out[l] = Files{Topics: filepath.Join(raw, TopicsFile(l)), Qrels: filepath.Join(raw, QrelsFile(l))}
	}
	return out
}

func TestRealTopicsOnly(t *testing.T) {
	dir := t.TempDir()
	meta, err := Prepare(context.Background(), Languages, rawFiles(t, Languages), Options{TopicsOnly: true}, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Line counts of the 18 topics and qrels files.
	if meta.Counts["queries"] != 13495 || meta.Counts["qrels"] != 130408 || meta.Counts["candidates"] != 0 {
		t.Errorf("counts %v", meta.Counts)
	}
	d, err := datasets.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Queries) != 13495 || d.Queries[0].QID != "miracl/ar/0" || len(d.Candidates) != 0 {
		t.Errorf("%d queries, first %+v, %d candidates", len(d.Queries), d.Queries[0], len(d.Candidates))
	}
	kv, _ := tables.Metadata(filepath.Join(dir, datasets.QrelsFile))
	if kv["license"] != License || kv["dataset"] != Name {
		t.Errorf("metadata %v", kv)
	}
}

// writeCorpus writes n passages per language across files docs-0, docs-2, docs-10.
func writeCorpus(t testing.TB, dir string, langs []string, perLang int, docids func(lang string, i int) string) {
	for _, l := range langs {
		os.MkdirAll(filepath.Join(dir, l), 0o755)
		names := []string{"docs-0.jsonl.gz", "docs-2.jsonl.gz", "docs-10.jsonl.gz"}
		per := (perLang + len(names) - 1) / len(names)
		i := 0
		for _, name := range names {
			f, err := os.Create(filepath.Join(dir, l, name))
			if err != nil {
				t.Fatal(err)
			}
			zw := gzip.NewWriter(f)
			for k := 0; k < per && i < perLang; k, i = k+1, i+1 {
				fmt.Fprintf(zw, "{\"docid\": %q, \"title\": \"Title %d\", \"text\": \"Passage %d of %s.\"}\n", docids(l, i), i/3, i, l)
			}
			zw.Close()
			f.Close()
		}
	}
}

func TestCorpus(t *testing.T) {
	langs := []string{"sw", "yo"}
	files := rawFiles(t, langs)
	// Judged docids of the raw qrels, so the generated corpus covers them.
	var judged []string
	for _, l := range langs {
		b, _ := os.ReadFile(files[l].Qrels)
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			judged = append(judged, l+"\t"+strings.Fields(line)[2])
		}
	}
	corpus := t.TempDir()
	byLang := map[string][]string{}
	for _, j := range judged {
		l, id, _ := strings.Cut(j, "\t")
		if !slices.Contains(byLang[l], id) {
			byLang[l] = append(byLang[l], id)
		}
	}
	writeCorpus(t, corpus, langs, 7000, func(l string, i int) string {
		if i < len(byLang[l]) {
			return byLang[l][i]
		}
		return fmt.Sprintf("x%d#%d", i, i%5)
	})
	out := t.TempDir()
	meta, err := Prepare(context.Background(), langs, files, Options{CorpusDir: corpus}, out, nil)
	if err != nil {
		t.Fatal(err)
	}
	if meta.Counts["candidates"] != 14000 {
		t.Errorf("counts %v", meta.Counts)
	}
	cs, _ := tables.Read[tables.Candidate](filepath.Join(out, datasets.CandidatesFile))
	if cs[0].CID != "miracl/sw/"+byLang["sw"][0] || !strings.HasPrefix(cs[0].Text, "Passage 0 of sw") || cs[0].Context != "Title 0" {
		t.Errorf("first candidate %+v", cs[0])
	}
	// docs-2 comes before docs-10: passage numbers increase through the file.
	for i := 1; i < 7000; i++ {
		if !strings.HasPrefix(cs[i].Text, fmt.Sprintf("Passage %d of", i)) {
			t.Fatalf("candidate %d is %q: files read out of order", i, cs[i].Text)
		}
	}
	// Judged only.
	out2 := t.TempDir()
	meta, err = Prepare(context.Background(), langs, files, Options{CorpusDir: corpus, OnlyJudged: true}, out2, nil)
	if err != nil {
		t.Fatal(err)
	}
	uniq := map[string]bool{}
	for _, j := range judged {
		uniq[j] = true
	}
	if meta.Counts["candidates"] != int64(len(uniq)) || meta.Counts["judged_docs_not_in_corpus"] != 0 {
		t.Errorf("only judged: counts %v, want %d candidates", meta.Counts, len(uniq))
	}
}

func TestStreamingRowGroups(t *testing.T) {
	corpus := t.TempDir()
	n := 2*datasets.RowGroupRows + 10
	writeCorpus(t, corpus, []string{"yo"}, n, func(_ string, i int) string { return fmt.Sprintf("%d#0", i) })
	outDir := t.TempDir()
	out := datasets.CandidatesPath(outDir)
	cw, err := datasets.CreateCandidates(outDir, map[string]string{"license": License})
	if err != nil {
		t.Fatal(err)
	}
	fs, _ := CorpusFiles(corpus, "yo")
	if err := ReadCorpus(context.Background(), fs, func(d Doc) error { return cw.Write(Candidate("yo", d)) }); err != nil {
		t.Fatal(err)
	}
	if err := cw.Close(); err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(out)
	defer f.Close()
	st, _ := f.Stat()
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	if pf.NumRows() != int64(n) || len(pf.RowGroups()) != 3 {
		t.Errorf("%d rows in %d row groups, want %d in 3", pf.NumRows(), len(pf.RowGroups()), n)
	}
}

func TestMissingCorpus(t *testing.T) {
	langs := []string{"sw", "yo"}
	corpus := t.TempDir()
	writeCorpus(t, corpus, []string{"sw"}, 3, func(_ string, i int) string { return fmt.Sprint(i) })
	_, err := Prepare(context.Background(), langs, rawFiles(t, langs), Options{CorpusDir: corpus}, t.TempDir(), nil)
	var me *MissingCorpusError
	if !errors.As(err, &me) || strings.Join(me.Langs, ",") != "yo" || !strings.Contains(err.Error(), filepath.Join(corpus, "yo", "docs-0.jsonl.gz")) || !strings.Contains(err.Error(), "topics_only") {
		t.Errorf("err = %v", err)
	}
	_, err = Prepare(context.Background(), langs, rawFiles(t, langs), Options{}, t.TempDir(), nil)
	if err == nil || !strings.Contains(err.Error(), "corpus_dir") || !strings.Contains(err.Error(), "sw, yo") {
		t.Errorf("err = %v", err)
	}
}

func TestBadFiles(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		in, want string
		topics   bool
	}{
		{"1\tq one\n2\tq\ttwo\n", "t.tsv:2: expected 2 tab-separated columns (qid, query), found 3", true},
		{"1\tq one\n1\tagain\n", "t.tsv:2: qid 1 already defined on line 1", true},
		{"\tq\n", "t.tsv:1: empty qid or query", true},
		{"", "t.tsv: no topics", true},
		{"1\tQ0\td#1\t1\n1\tQ0\td#2\n", "t.tsv:2: expected 4 columns (qid Q0 docid rel), found 3", false},
		{"1\tQ0\td#1\tyes\n", `t.tsv:1: relevance "yes": expected an integer >= 0`, false},
	} {
		var err error
		if tc.topics {
			_, err = ReadTopics(ctx, "t.tsv", strings.NewReader(tc.in))
		} else {
			_, err = ReadQrels(ctx, "t.tsv", strings.NewReader(tc.in))
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err = %v, want %q", tc.in, err, tc.want)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{`{"docid":"1","title":"t","text":"x"}` + "\n" + `{"docid":"2","title":"t","text":`, "c.jsonl:2: column 32: malformed JSON: unexpected end of JSON input"},
		{`{"docid":"1","title":"t","text":"x"}` + "\n\n" + `{"docid":"2" "title"}`, "c.jsonl:3: column 14: malformed JSON"},
		{`{"docid":"","text":"x"}`, "c.jsonl:1: missing docid"},
		{`{"docid":3}`, "c.jsonl:1: json: cannot unmarshal number"},
	} {
		err := ReadCorpusJSONL(ctx, "c.jsonl", strings.NewReader(tc.in), func(Doc) error { return nil })
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err = %v, want %q", tc.in, err, tc.want)
		}
	}
	// Qrels naming a qid without topic.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "t"), []byte("1\tq\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "q"), []byte("1 Q0 a 1\n2 Q0 b 1\n"), 0o644)
	_, err := Prepare(ctx, []string{"yo"}, map[string]Files{"yo": {Topics: filepath.Join(dir, "t"), Qrels: filepath.Join(dir, "q")}}, Options{TopicsOnly: true}, t.TempDir(), nil)
	if err == nil || !strings.Contains(err.Error(), "qrels.miracl-v1.0-yo-dev.tsv:2: qid 2 has no topic") {
		t.Errorf("err = %v", err)
	}
	if _, err := SelectLanguages([]string{"xx"}); err == nil {
		t.Error("language xx accepted")
	}
}

func FuzzReadTopics(f *testing.F) {
	f.Add("0\tWhat?\n1\tWho?\n")
	f.Add("a\tb\tc\n")
	f.Fuzz(func(t *testing.T, in string) {
		ts, err := ReadTopics(context.Background(), "f.tsv", strings.NewReader(in))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.tsv") {
				t.Fatalf("error lacks file name: %v", err)
			}
			return
		}
		for _, tp := range ts {
			if tp.QID == "" || tp.Query == "" || strings.Contains(tp.Query, "\t") {
				t.Fatalf("bad topic %+v", tp)
			}
		}
	})
}

func FuzzReadQrels(f *testing.F) {
	f.Add("0\tQ0\t12#3\t1\n0 Q0 12#4 0\n")
	f.Add("0 Q0 x -1\n")
	f.Fuzz(func(t *testing.T, in string) {
		js, err := ReadQrels(context.Background(), "f.tsv", strings.NewReader(in))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.tsv") {
				t.Fatalf("error lacks file name: %v", err)
			}
			return
		}
		for _, j := range js {
			if j.Rel < 0 || j.QID == "" || j.DocID == "" {
				t.Fatalf("bad judgment %+v", j)
			}
		}
	})
}

func FuzzReadCorpusJSONL(f *testing.F) {
	f.Add(`{"docid":"1#0","title":"T","text":"x"}` + "\n")
	f.Add(`{"docid":1}`)
	f.Fuzz(func(t *testing.T, in string) {
		err := ReadCorpusJSONL(context.Background(), "f.jsonl", strings.NewReader(in), func(d Doc) error {
			if d.DocID == "" {
				t.Fatal("empty docid passed")
			}
			return nil
		})
		if err != nil && !strings.HasPrefix(err.Error(), "f.jsonl") {
			t.Fatalf("error lacks file name: %v", err)
		}
	})
}

// TestBadCorpusFiles: truncated, corrupt, empty and non-gzip files and
// lines without docid or text fail with the file and the line.
func TestBadCorpusFiles(t *testing.T) {
	dir := t.TempDir()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	for i := 0; i < 3000; i++ {
		fmt.Fprintf(zw, "{\"docid\": \"%d#0\", \"title\": \"T\", \"text\": \"passage %d %s\"}\n", i, i, strings.Repeat("x", i%50))
	}
	zw.Close()
	full := buf.Bytes()
	gzLines := func(lines ...string) []byte {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write([]byte(strings.Join(lines, "\n")))
		zw.Close()
		return b.Bytes()
	}
	corrupt := bytes.Clone(full)
	corrupt[len(corrupt)-6] ^= 0xff // the stored length: a checksum/size error at the end
	for _, tc := range []struct {
		name string
		data []byte
		want string // after the path
	}{
		{"truncated", full[:len(full)/2], `:\d+: the file ends in the middle of its compressed stream \(truncated download or copy\?\)`},
		{"cut-trailer", full[:len(full)-4], `:\d+: the file ends in the middle`},
		{"corrupt", corrupt, `:\d+: corrupt gzip data`},
		{"plain", []byte(`{"docid":"1","text":"x"}` + "\n"), `:1: not a gzip file \(gzip: invalid header\)`},
		{"empty", nil, `:1: empty file, expected gzip-compressed JSONL`},
		{"notext", gzLines(`{"docid":"1#0","title":"t","text":"x"}`, `{"docid":"1#1","title":"t"}`), `:2: docid "1#1": missing text`},
		{"nodocid", gzLines(`{"docid":"1#0","text":"x"}`, ``, `{"title":"t","text":"y"}`), `:3: missing docid`},
		{"nulltext", gzLines(`{"docid":"1#0","text":null}`), `:1: docid "1#0": missing text`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, tc.name, "docs-0.jsonl.gz")
			os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.WriteFile(p, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			n := 0
			err := ReadCorpus(context.Background(), []string{p}, func(Doc) error { n++; return nil })
			if err == nil || !regexp.MustCompile("^"+regexp.QuoteMeta(p)+tc.want).MatchString(err.Error()) {
				t.Fatalf("err = %v, want %s%s", err, p, tc.want)
			}
		})
	}
}

// FuzzParseCorpusLine: the line parser never panics, accepts a line only
// with a non-empty docid and a text, and returns exactly the JSON's values.
func FuzzParseCorpusLine(f *testing.F) {
	for _, s := range []string{`{"docid":"1#0","title":"T","text":"x"}`, `{"docid":"1#0","text":""}`, `{"docid":"","text":"x"}`,
		`{"docid":"a","title":null,"text":"x"}`, `{"text":"x"}`, `{"docid":"a"}`, `{"docid":1,"text":"x"}`, `[]`, `{"docid":"a","text":"\u00e9\ud800"}`, `{`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		d, err := ParseCorpusLine(line)
		if err != nil {
			if d != (Doc{}) {
				t.Fatalf("error %v with a document %+v", err, d)
			}
			return
		}
		if d.DocID == "" {
			t.Fatal("empty docid accepted")
		}
		var m map[string]any
		if json.Unmarshal(line, &m) != nil {
			t.Fatalf("accepted a line that is not a JSON object: %q", line)
		}
		for k := range m { // encoding/json matches keys case-insensitively: compare only plain lines
			if k != "docid" && k != "title" && k != "text" && (strings.EqualFold(k, "docid") || strings.EqualFold(k, "title") || strings.EqualFold(k, "text")) {
				return
			}
		}
		if text, ok := m["text"].(string); !ok || text != d.Text || m["docid"] != d.DocID {
			t.Fatalf("parsed %+v from %q (map %v)", d, line, m)
		}
		if title, ok := m["title"].(string); ok && title != d.Title {
			t.Fatalf("title %q, want %q", d.Title, title)
		}
	})
}

// TestBaselines: one row per language and system, and the means the
// MIRACL paper and Pyserini quote (BM25 nDCG@10 0.385 over 18 languages).
func TestBaselines(t *testing.T) {
	seen := map[string]bool{}
	for _, b := range Baselines {
		key := b.RunID + "/" + b.Lang
		if seen[key] || !slices.Contains(Languages, b.Lang) || b.NDCG10 <= 0 || b.NDCG10 >= 1 || b.Recall100 < b.NDCG10 || b.Recall100 >= 1 {
			t.Errorf("bad or duplicate row %+v", b)
		}
		seen[key] = true
	}
	if len(seen) != 2*len(Languages) {
		t.Errorf("%d rows, want %d", len(seen), 2*len(Languages))
	}
	m := BaselineMeans()
	if got := m["bm25 (pyserini 2CR)"][0]; fmt.Sprintf("%.3f", got) != "0.385" {
		t.Errorf("BM25 mean nDCG@10 %.4f, want 0.385", got)
	}
	if got := m["mdpr (pyserini 2CR)"][0]; fmt.Sprintf("%.3f", got) != "0.421" {
		t.Errorf("mDPR mean nDCG@10 %.4f, want 0.421", got)
	}
}
