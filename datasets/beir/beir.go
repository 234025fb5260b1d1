package beir

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/lair-ir/lair/datasets"
	"github.com/lair-ir/lair/internal/fsutil"
	"github.com/lair-ir/lair/tables"
)

// File names of a BEIR folder.
const (
	CorpusFile  = "corpus.jsonl"
	QueriesFile = "queries.jsonl"
	QrelsDir    = "qrels"
)

// Options say how a BEIR folder becomes lair tables.
type Options struct {
	Name      string // dataset name in lair's tables (required)
	Split     string // qrels split (default "test")
	Lang      string // language of every record without a LangField value
	LangField string // JSON field holding a record's language (optional)
	License   string // license text carried by the tables
}

// Record is one line of corpus.jsonl or queries.jsonl.
type Record struct {
	ID    string
	Title string
	Text  string
	Lang  string
}

// ParseRecord parses one JSON line; langField names the language field ("" for none).
func ParseRecord(line []byte, langField string) (Record, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(line, &raw); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return Record{}, fmt.Errorf("malformed JSON at column %d: %v", se.Offset, se)
		}
		return Record{}, fmt.Errorf("want a JSON object: %v", err)
	}
	str := func(name string) (string, error) {
		v, ok := raw[name]
		if !ok || string(v) == "null" {
			return "", nil
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			// BEIR ids are sometimes numbers
			var n json.Number
			if json.Unmarshal(v, &n) == nil && name == "_id" {
				return n.String(), nil
			}
			return "", fmt.Errorf("field %q is %s, want a string", name, v)
		}
		return s, nil
	}
	var r Record
	var err error
	if r.ID, err = str("_id"); err != nil {
		return r, err
	}
	if r.ID == "" {
		return r, errors.New(`no "_id": every BEIR record needs one`)
	}
	if r.Title, err = str("title"); err != nil {
		return r, err
	}
	if r.Text, err = str("text"); err != nil {
		return r, err
	}
	if langField != "" {
		if r.Lang, err = str(langField); err != nil {
			return r, err
		}
	}
	return r, nil
}

// open opens name or name+".gz" in dir.
func open(dir, name string) (io.ReadCloser, string, error) {
	p := filepath.Join(dir, name)
	if f, err := os.Open(p); err == nil {
		return f, p, nil
	}
	gz := p + ".gz"
	f, err := os.Open(gz)
	if err != nil {
		return nil, p, fmt.Errorf("BEIR folder %s: no %s (or %s.gz): %w", dir, name, name, err)
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, gz, fmt.Errorf("%s: not a gzip file: %w", gz, err)
	}
	return struct {
		io.Reader
		io.Closer
	}{zr, f}, gz, nil
}

// readLines calls fn with each non-empty line and its 1-based number.
func readLines(ctx context.Context, r io.Reader, path string, fn func(n int, line []byte) error) error {
	br := bufio.NewReaderSize(r, 1<<16)
	for n := 1; ; n++ {
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		b, err := br.ReadBytes('\n')
		if t := bytes.TrimSpace(b); len(t) > 0 {
			if ferr := fn(n, t); ferr != nil {
				return ferr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s:%d: %w", path, n, err)
		}
	}
}

func (o *Options) langOf(r Record, path string, n int) (string, error) {
	if r.Lang != "" {
		return r.Lang, nil
	}
	if o.Lang != "" {
		return o.Lang, nil
	}
	if o.LangField != "" {
		return "", fmt.Errorf("%s:%d: record %q has no %q field and no default language was given: set lang", path, n, r.ID, o.LangField)
	}
	return "", fmt.Errorf("%s:%d: no language for record %q: set lang (one code for the folder) or lang_field", path, n, r.ID)
}

// Read reads the BEIR folder dir into a dataset.
func Read(ctx context.Context, dir string, opt Options) (*datasets.Dataset, error) {
	if opt.Name == "" {
		return nil, errors.New("BEIR dataset needs a name")
	}
	if opt.Split == "" {
		opt.Split = "test"
	}
	ds := &datasets.Dataset{Meta: datasets.Meta{Dataset: opt.Name, License: opt.License}}
	langs := map[string]bool{}

	// qrels first: they say which queries the split has.
	qrelPath := filepath.Join(dir, QrelsDir, opt.Split+".tsv")
	qf, err := os.Open(qrelPath)
	if err != nil {
		return nil, fmt.Errorf("BEIR folder %s: no qrels for split %q: %w (splits are files qrels/<split>.tsv)", dir, opt.Split, err)
	}
	type judged struct {
		qid, cid string
		rel      int32
		line     int
	}
	var judgments []judged
	err = readLines(ctx, qf, qrelPath, func(n int, line []byte) error {
		f := strings.Split(string(line), "\t")
		if n == 1 && len(f) >= 2 && strings.EqualFold(strings.TrimSpace(f[0]), "query-id") {
			return nil // header
		}
		if len(f) != 3 {
			return fmt.Errorf("%s:%d: %d tab-separated fields, want 3 (query-id, corpus-id, score)", qrelPath, n, len(f))
		}
		s, err := strconv.ParseInt(strings.TrimSpace(f[2]), 10, 32)
		if err != nil {
			return fmt.Errorf("%s:%d: score %q is not an integer", qrelPath, n, f[2])
		}
		judgments = append(judgments, judged{strings.TrimSpace(f[0]), strings.TrimSpace(f[1]), int32(s), n})
		return nil
	})
	qf.Close()
	if err != nil {
		return nil, err
	}
	if len(judgments) == 0 {
		return nil, fmt.Errorf("%s: no judgments: a split needs at least one qrels line", qrelPath)
	}
	judgedQ := map[string]bool{}
	for _, j := range judgments {
		judgedQ[j.qid] = true
	}

	rc, qpath, err := open(dir, QueriesFile)
	if err != nil {
		return nil, err
	}
	seenQ := map[string]string{} // id -> lang
	err = readLines(ctx, rc, qpath, func(n int, line []byte) error {
		r, err := ParseRecord(line, opt.LangField)
		if err != nil {
			return fmt.Errorf("%s:%d: %w", qpath, n, err)
		}
		if _, dup := seenQ[r.ID]; dup {
			return fmt.Errorf("%s:%d: query %q appears twice", qpath, n, r.ID)
		}
		lang, err := opt.langOf(r, qpath, n)
		if err != nil {
			return err
		}
		seenQ[r.ID] = lang
		if judgedQ[r.ID] {
			ds.Queries = append(ds.Queries, tables.Query{Dataset: opt.Name, Split: opt.Split, QID: r.ID, GroupID: r.ID, Lang: lang, Text: r.Text})
			langs[lang] = true
		}
		return nil
	})
	rc.Close()
	if err != nil {
		return nil, err
	}

	rc, cpath, err := open(dir, CorpusFile)
	if err != nil {
		return nil, err
	}
	seenC := map[string]bool{}
	err = readLines(ctx, rc, cpath, func(n int, line []byte) error {
		r, err := ParseRecord(line, opt.LangField)
		if err != nil {
			return fmt.Errorf("%s:%d: %w", cpath, n, err)
		}
		if seenC[r.ID] {
			return fmt.Errorf("%s:%d: passage %q appears twice", cpath, n, r.ID)
		}
		seenC[r.ID] = true
		lang, err := opt.langOf(r, cpath, n)
		if err != nil {
			return err
		}
		langs[lang] = true
		ds.Candidates = append(ds.Candidates, tables.Candidate{Dataset: opt.Name, CID: r.ID, Lang: lang, Text: r.Text, Context: r.Title, DocID: r.ID})
		return nil
	})
	rc.Close()
	if err != nil {
		return nil, err
	}
	for _, j := range judgments {
		if _, ok := seenQ[j.qid]; !ok {
			return nil, fmt.Errorf("%s:%d: query-id %q is not in %s: the qrels and queries files do not belong together", qrelPath, j.line, j.qid, qpath)
		}
		if !seenC[j.cid] {
			return nil, fmt.Errorf("%s:%d: corpus-id %q is not in %s: the qrels and corpus files do not belong together", qrelPath, j.line, j.cid, cpath)
		}
		ds.Qrels = append(ds.Qrels, tables.Qrel{Dataset: opt.Name, QID: j.qid, CID: j.cid, Relevance: j.rel})
	}
	for l := range langs {
		ds.Meta.Languages = append(ds.Meta.Languages, l)
	}
	slices.Sort(ds.Meta.Languages)
	ds.Meta.Notes = append(ds.Meta.Notes, fmt.Sprintf("read from the BEIR folder %s, split %s", dir, opt.Split))
	return ds, nil
}

// Write writes ds as a BEIR folder in dir (created if needed), with its
// qrels under qrels/<split>.tsv and languages in a "lang" field.
func Write(dir string, ds *datasets.Dataset, split string) error {
	if split == "" {
		split = "test"
	}
	if err := os.MkdirAll(filepath.Join(dir, QrelsDir), 0o755); err != nil {
		return err
	}
	type rec struct {
		ID    string `json:"_id"`
		Title string `json:"title,omitempty"`
		Text  string `json:"text"`
		Lang  string `json:"lang"`
	}
	writeJSONL := func(name string, n int, row func(i int) rec) error {
		return writeFile(filepath.Join(dir, name), func(w *bufio.Writer) error {
			enc := json.NewEncoder(w)
			enc.SetEscapeHTML(false)
			for i := range n {
				if err := enc.Encode(row(i)); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err := writeJSONL(CorpusFile, len(ds.Candidates), func(i int) rec {
		c := ds.Candidates[i]
		return rec{c.CID, c.Context, c.Text, c.Lang}
	}); err != nil {
		return err
	}
	if err := writeJSONL(QueriesFile, len(ds.Queries), func(i int) rec {
		q := ds.Queries[i]
		return rec{ID: q.QID, Text: q.Text, Lang: q.Lang}
	}); err != nil {
		return err
	}
	return writeFile(filepath.Join(dir, QrelsDir, split+".tsv"), func(w *bufio.Writer) error {
		fmt.Fprintln(w, "query-id\tcorpus-id\tscore")
		for _, q := range ds.Qrels {
			if strings.ContainsAny(q.QID+q.CID, "\t\n") {
				return fmt.Errorf("qrel %q -> %q: ids with tabs or newlines cannot be written as BEIR qrels", q.QID, q.CID)
			}
			fmt.Fprintf(w, "%s\t%s\t%d\n", q.QID, q.CID, q.Relevance)
		}
		return nil
	})
}

// writeFile writes path through a temporary file renamed into place, so a
// failed export leaves no half-written file.
func writeFile(path string, fill func(w *bufio.Writer) error) error {
	f, err := fsutil.Create(path, 0o644)
	if err != nil {
		return err
	}
	defer f.Cleanup()
	w := bufio.NewWriterSize(f, 1<<16)
	if err := fill(w); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Commit()
}
