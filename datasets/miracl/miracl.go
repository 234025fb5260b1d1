package miracl

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
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/lair-ir/lair/tables"
)

// Name is the dataset name in tables and ids.
const Name = "miracl"

// License of the MIRACL topics, qrels and corpus.
const License = "Apache-2.0"

// Languages are the 18 languages of MIRACL v1.0 dev.
var Languages = []string{"ar", "bn", "de", "en", "es", "fa", "fi", "fr", "hi", "id", "ja", "ko", "ru", "sw", "te", "th", "yo", "zh"}

// TopicsFile and QrelsFile are the raw file names of one language (as in a mirror's miracl/ directory).
func TopicsFile(lang string) string { return "topics.miracl-v1.0-" + lang + "-dev.tsv" }
func QrelsFile(lang string) string  { return "qrels.miracl-v1.0-" + lang + "-dev.tsv" }

// QID and CID are lair's ids for MIRACL rows: "miracl/<lang>/<id>".
func QID(lang, qid string) string   { return Name + "/" + lang + "/" + qid }
func CID(lang, docid string) string { return Name + "/" + lang + "/" + docid }

// Topic is one line of a topics file.
type Topic struct{ QID, Query string }

// Judgment is one line of a qrels file.
type Judgment struct {
	QID, DocID string
	Rel        int32
}

// lines calls fn for every line of r (1-based numbers, without the line
// terminator), skipping empty lines.
func lines(ctx context.Context, r io.Reader, fn func(n int, line string) error) error {
	br := bufio.NewReaderSize(r, 1<<16)
	for n := 1; ; n++ {
		if n%8192 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		s, err := br.ReadString('\n')
		s = strings.TrimRight(s, "\r\n")
		if s != "" {
			if ferr := fn(n, s); ferr != nil {
				return ferr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("line %d: %w", n, err)
		}
	}
}

// ReadTopics parses a topics file: qid<TAB>query per line.
func ReadTopics(ctx context.Context, name string, r io.Reader) ([]Topic, error) {
	var out []Topic
	seen := map[string]int{}
	err := lines(ctx, r, func(n int, line string) error {
		cols := strings.Split(line, "\t")
		if len(cols) != 2 {
			return fmt.Errorf("%s:%d: expected 2 tab-separated columns (qid, query), found %d", name, n, len(cols))
		}
		qid, q := strings.TrimSpace(cols[0]), strings.TrimSpace(cols[1])
		if qid == "" || q == "" {
			return fmt.Errorf("%s:%d: empty qid or query", name, n)
		}
		if !utf8.ValidString(q) {
			return fmt.Errorf("%s:%d: query is not valid UTF-8", name, n)
		}
		if prev, dup := seen[qid]; dup {
			return fmt.Errorf("%s:%d: qid %s already defined on line %d", name, n, qid, prev)
		}
		seen[qid] = n
		out = append(out, Topic{QID: qid, Query: q})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no topics", name)
	}
	return out, nil
}

// ReadQrels parses a TREC qrels file: qid Q0 docid rel (tab- or
// space-separated), rel an integer >= 0.
func ReadQrels(ctx context.Context, name string, r io.Reader) ([]Judgment, error) {
	var out []Judgment
	err := lines(ctx, r, func(n int, line string) error {
		cols := strings.Fields(line)
		if len(cols) != 4 {
			return fmt.Errorf("%s:%d: expected 4 columns (qid Q0 docid rel), found %d", name, n, len(cols))
		}
		rel, err := strconv.ParseInt(cols[3], 10, 32)
		if err != nil || rel < 0 {
			return fmt.Errorf("%s:%d: relevance %q: expected an integer >= 0", name, n, cols[3])
		}
		out = append(out, Judgment{QID: cols[0], DocID: cols[2], Rel: int32(rel)})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no judgments", name)
	}
	return out, nil
}

// Doc is one corpus passage.
type Doc struct {
	DocID string `json:"docid"`
	Title string `json:"title"`
	Text  string `json:"text"`
}

// CorpusFiles returns the corpus files of a language, sorted: dir/<lang>/docs-*.jsonl.gz
// (or dir/miracl-corpus-v1.0-<lang>/docs-*.jsonl.gz, the Hugging Face layout).
func CorpusFiles(dir, lang string) ([]string, error) {
	for _, sub := range []string{lang, "miracl-corpus-v1.0-" + lang} {
		m, err := filepath.Glob(filepath.Join(dir, sub, "docs-*.jsonl.gz"))
		if err != nil {
			return nil, err
		}
		if len(m) > 0 {
			sort.Slice(m, func(i, j int) bool { return natLess(m[i], m[j]) })
			return m, nil
		}
	}
	return nil, nil
}

// natLess orders docs-2 before docs-10.
func natLess(a, b string) bool {
	na, nb := numSuffix(a), numSuffix(b)
	if na != nb {
		return na < nb
	}
	return a < b
}

func numSuffix(p string) int {
	s := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(p), "docs-"), ".jsonl.gz")
	n, err := strconv.Atoi(s)
	if err != nil {
		return -1
	}
	return n
}

// ReadCorpus streams every passage of the files, in order, to fn. Memory
// stays bounded by the longest line. Errors name the file and line.
func ReadCorpus(ctx context.Context, files []string, fn func(Doc) error) error {
	for _, p := range files {
		if err := readCorpusFile(ctx, p, fn); err != nil {
			return err
		}
	}
	return nil
}

func readCorpusFile(ctx context.Context, path string, fn func(Doc) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(bufio.NewReaderSize(f, 1<<16))
	if err != nil {
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("%s:1: empty file, expected gzip-compressed JSONL (docs-*.jsonl.gz); fetch it again", path)
		}
		return fmt.Errorf("%s:1: not a gzip file (%v); corpus files must be gzip-compressed JSONL, docs-*.jsonl.gz as distributed", path, err)
	}
	defer zr.Close()
	return ReadCorpusJSONL(ctx, path, zr, fn)
}

// ReadCorpusJSONL streams uncompressed corpus JSONL ({"docid","title","text"}
// per line; docid and text are required, title may be absent). Every error
// names the file and the 1-based line: malformed JSON, a missing or empty
// docid, a missing text, a non-string field, and a stream that ends
// mid-way (a truncated or corrupt gzip file).
func ReadCorpusJSONL(ctx context.Context, name string, r io.Reader, fn func(Doc) error) error {
	br := bufio.NewReaderSize(r, 1<<16)
	for n := 1; ; n++ {
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		b, err := br.ReadBytes('\n')
		if err != nil && err != io.EOF {
			return corpusReadError(name, n, err)
		}
		if len(bytes.TrimSpace(b)) > 0 {
			d, perr := ParseCorpusLine(b)
			if perr != nil {
				return fmt.Errorf("%s:%d: %w", name, n, perr)
			}
			if ferr := fn(d); ferr != nil {
				return ferr
			}
		}
		if err == io.EOF {
			return nil
		}
	}
}

// corpusReadError explains a read error at line n of a corpus file.
func corpusReadError(name string, n int, err error) error {
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%s:%d: the file ends in the middle of its compressed stream (truncated download or copy?): %w; fetch the file again", name, n, err)
	case errors.Is(err, gzip.ErrChecksum), errors.Is(err, gzip.ErrHeader):
		return fmt.Errorf("%s:%d: corrupt gzip data: %w; fetch the file again", name, n, err)
	}
	return fmt.Errorf("%s:%d: %w", name, n, err)
}

// corpusLine is a corpus line as decoded; pointers tell absent fields
// from empty ones.
type corpusLine struct {
	DocID *string `json:"docid"`
	Title *string `json:"title"`
	Text  *string `json:"text"`
}

// ParseCorpusLine parses one corpus line, {"docid","title","text"}: docid
// (non-empty) and text are required, title is optional. Errors say what is
// wrong and where in the line; the caller adds file and line number.
func ParseCorpusLine(b []byte) (Doc, error) {
	var l corpusLine
	if err := json.Unmarshal(b, &l); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return Doc{}, fmt.Errorf("column %d: malformed JSON: %v (expected {\"docid\", \"title\", \"text\"})", se.Offset, se)
		}
		return Doc{}, fmt.Errorf("%v (expected {\"docid\", \"title\", \"text\"} with string values)", err)
	}
	switch {
	case l.DocID == nil:
		return Doc{}, errors.New(`missing docid (expected {"docid", "title", "text"})`)
	case *l.DocID == "":
		return Doc{}, errors.New("missing docid (empty string)")
	case l.Text == nil:
		return Doc{}, fmt.Errorf(`docid %q: missing text (expected {"docid", "title", "text"})`, *l.DocID)
	}
	d := Doc{DocID: *l.DocID, Text: *l.Text}
	if l.Title != nil {
		d.Title = *l.Title
	}
	return d, nil
}

// Candidate converts a passage of a language into a candidates row: text
// is the passage, context its article title, doc_id the article ("<docid
// before #>").
func Candidate(lang string, d Doc) tables.Candidate {
	art, _, _ := strings.Cut(d.DocID, "#")
	return tables.Candidate{Dataset: Name, CID: CID(lang, d.DocID), Lang: lang, Text: d.Text, Context: d.Title, DocID: CID(lang, art)}
}

// MissingCorpusError says which languages have no corpus and where it belongs.
type MissingCorpusError struct {
	Dir   string
	Langs []string
}

func (e *MissingCorpusError) Error() string {
	where := e.Dir
	if where == "" {
		return fmt.Sprintf("miracl: topics and qrels are here, but no corpus: set the parameter corpus_dir to a directory holding <lang>/docs-*.jsonl.gz for %s "+
			"(the MIRACL corpus, https://huggingface.co/datasets/miracl/miracl-corpus), or set topics_only: true to emit queries and qrels without candidates",
			strings.Join(e.Langs, ", "))
	}
	l := e.Langs[0]
	return fmt.Sprintf("miracl: corpus missing for %s: no files matched %s or %s (for %s; likewise for the others): expected %s/<lang>/docs-*.jsonl.gz (for example %s) "+
		"from https://huggingface.co/datasets/miracl/miracl-corpus; put it there, point corpus_dir elsewhere, or set topics_only: true",
		strings.Join(e.Langs, ", "), filepath.Join(where, l, "docs-*.jsonl.gz"), filepath.Join(where, "miracl-corpus-v1.0-"+l, "docs-*.jsonl.gz"), l,
		where, filepath.Join(where, l, "docs-0.jsonl.gz"))
}
