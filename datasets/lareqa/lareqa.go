package lareqa

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/lair-ir/lair/datasets"
	"github.com/lair-ir/lair/tables"
)

// Spec describes one LAReQA dataset.
type Spec struct {
	Name      string   // "xquad-r" or "mlqa-r"; also the mirror directory
	Languages []string // every language file, in canonical order
	License   string
	Notes     []string
}

// The two LAReQA datasets.
var (
	XQuADR = Spec{
		Name:      "xquad-r",
		Languages: []string{"ar", "de", "el", "en", "es", "hi", "ru", "th", "tr", "vi", "zh"},
		License:   "CC BY-SA 4.0",
		Notes:     []string{"LAReQA XQuAD-R (Roy et al., EMNLP 2020), google-research-datasets/lareqa at 9bc8c7fb6dd8d01d72a05a93c2cb96882b0d299c"},
	}
	MLQAR = Spec{
		Name:      "mlqa-r",
		Languages: []string{"ar", "de", "en", "es", "hi", "vi", "zh"},
		License:   "CC BY-NC 4.0",
		Notes: []string{
			"LAReQA MLQA-R (MLQA dev + sentence breaks), google-research-datasets/lareqa at 354d67d1cd066854cdfbf5ad0e6105528976141d (later removed by the authors)",
			"NON-COMMERCIAL: CC BY-NC 4.0; the underlying MLQA data are CC BY-SA 3.0",
		},
	}
)

// SpecByName returns the spec of "xquad-r" or "mlqa-r".
func SpecByName(name string) (Spec, bool) {
	switch name {
	case XQuADR.Name:
		return XQuADR, true
	case MLQAR.Name:
		return MLQAR, true
	}
	return Spec{}, false
}

// File is one LAReQA language file: SQuAD 1.1 JSON plus, per paragraph, the
// sentences and their [start, end) code-point offsets into the context.
type File struct {
	Version json.RawMessage `json:"version"` // "1.1" in XQuAD-R, a number in MLQA-R
	Data    []Article       `json:"data"`
}

// Article is one Wikipedia article.
type Article struct {
	Title      string      `json:"title"`
	Paragraphs []Paragraph `json:"paragraphs"`
}

// Paragraph is one context with its sentences and questions.
type Paragraph struct {
	Context        string   `json:"context"`
	Sentences      []string `json:"sentences"`
	SentenceBreaks [][]int  `json:"sentence_breaks"`
	QAs            []QA     `json:"qas"`
}

// QA is one question; the first answer is the one LAReQA uses.
type QA struct {
	ID       string   `json:"id"`
	Question string   `json:"question"`
	Answers  []Answer `json:"answers"`
}

// Answer is a SQuAD answer: its text and code-point offset in the context.
type Answer struct {
	AnswerStart int    `json:"answer_start"`
	Text        string `json:"text"`
}

// Parse decodes a language file. Errors name the file, the line and column
// (and byte offset) of a syntax or type error, or the JSON path of a
// structural problem.
func Parse(name string, r io.Reader) (*File, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return ParseBytes(name, data)
}

// ParseBytes is Parse over a byte slice.
func ParseBytes(name string, data []byte) (*File, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("%s: empty file, expected a LAReQA JSON object {\"data\": [...]}", name)
	}
	var f File
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&f); err != nil {
		return nil, jsonError(name, data, err)
	}
	if off := dec.InputOffset(); len(bytes.TrimSpace(data[off:])) > 0 {
		line, col := lineCol(data, off)
		return nil, fmt.Errorf("%s:%d:%d (byte %d): unexpected data after the top-level JSON object", name, line, col, off)
	}
	if f.Data == nil {
		return nil, fmt.Errorf("%s: no \"data\" array: not a SQuAD/LAReQA file", name)
	}
	if err := f.Validate(name); err != nil {
		return nil, err
	}
	return &f, nil
}

func jsonError(name string, data []byte, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		line, col := lineCol(data, int64(len(data)))
		return fmt.Errorf("%s:%d:%d (byte %d): truncated JSON: the file ends inside a value (re-download it; the checksum should have caught this)", name, line, col, len(data))
	case errors.As(err, &se):
		off := max(se.Offset-1, 0) // Offset counts the offending byte
		line, col := lineCol(data, off)
		return fmt.Errorf("%s:%d:%d (byte %d): malformed JSON: %v", name, line, col, off, se)
	case errors.As(err, &te):
		line, col := lineCol(data, te.Offset)
		return fmt.Errorf("%s:%d:%d (byte %d): field %q: expected %s, found JSON %s", name, line, col, te.Offset, te.Field, te.Type, te.Value)
	}
	return fmt.Errorf("%s: %w", name, err)
}

// lineCol converts a byte offset into a 1-based line and column.
func lineCol(data []byte, off int64) (line, col int) {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	if off < 0 {
		off = 0
	}
	before := data[:off]
	line = bytes.Count(before, []byte{'\n'}) + 1
	col = int(off) - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return line, col
}

// Validate checks the structure LAReQA relies on: sentences and breaks of
// equal number, breaks [start, end) inside the context and in order, one
// or more answers whose start lies inside the context, non-empty ids.
func (f *File) Validate(name string) error {
	ids := map[string]string{}
	for ai, a := range f.Data {
		for pi, p := range a.Paragraphs {
			at := fmt.Sprintf("%s: data[%d].paragraphs[%d]", name, ai, pi)
			n := utf8.RuneCountInString(p.Context)
			if len(p.Sentences) != len(p.SentenceBreaks) {
				return fmt.Errorf("%s: %d sentences but %d sentence_breaks; expected one [start, end] break per sentence", at, len(p.Sentences), len(p.SentenceBreaks))
			}
			prev := 0
			for si, b := range p.SentenceBreaks {
				if len(b) != 2 {
					return fmt.Errorf("%s.sentence_breaks[%d]: %v: expected a [start, end] pair", at, si, b)
				}
				if b[0] < prev || b[1] < b[0] || b[1] > n {
					return fmt.Errorf("%s.sentence_breaks[%d]: [%d, %d] is outside the context (%d characters) or out of order (previous break ends at %d); expected 0 <= start <= end <= %d", at, si, b[0], b[1], n, prev, n)
				}
				prev = b[1]
			}
			for qi, q := range p.QAs {
				qat := fmt.Sprintf("%s.qas[%d]", at, qi)
				if q.ID == "" {
					return fmt.Errorf("%s: empty question id", qat)
				}
				if prevAt, dup := ids[q.ID]; dup {
					return fmt.Errorf("%s: question id %q already used at %s; expected ids unique within a language file", qat, q.ID, prevAt)
				}
				ids[q.ID] = qat
				if len(q.Answers) == 0 {
					return fmt.Errorf("%s (id %s): no answers; expected at least one", qat, q.ID)
				}
				st := q.Answers[0].AnswerStart
				if st < 0 || st >= n {
					return fmt.Errorf("%s (id %s): answer_start %d is outside the context (%d characters)", qat, q.ID, st, n)
				}
				if AnswerSentence(p.SentenceBreaks, st) < 0 {
					return fmt.Errorf("%s (id %s): answer_start %d lies in no sentence (breaks %v); expected every answer inside a sentence", qat, q.ID, st, p.SentenceBreaks)
				}
			}
		}
	}
	return nil
}

// AnswerSentence returns the index of the sentence whose [start, end)
// contains the answer start, or -1.
func AnswerSentence(breaks [][]int, answerStart int) int {
	for i, b := range breaks {
		if b[0] <= answerStart && answerStart < b[1] {
			return i
		}
	}
	return -1
}

// LangStats summarises one language file; stats.parquet holds one row per language.
type LangStats struct {
	Dataset              string `parquet:"dataset,dict"`
	Lang                 string `parquet:"lang,dict"`
	Articles             int64  `parquet:"articles"`
	Paragraphs           int64  `parquet:"paragraphs"`
	Queries              int64  `parquet:"queries"`
	Candidates           int64  `parquet:"candidates"`
	Qrels                int64  `parquet:"qrels"`
	AnswersCrossingBreak int64  `parquet:"answers_crossing_break"`
	SentenceTextMismatch int64  `parquet:"sentence_text_mismatch"`
}

// Crossing is an answer whose text runs past the end of its sentence.
type Crossing struct {
	QID      string
	CID      string
	Answer   string
	Sentence string
}

// Result is a built LAReQA dataset.
type Result struct {
	datasets.Dataset
	Stats     []LangStats
	Crossings []Crossing
}

// QID, CID and DocID are the stable identifiers lair gives LAReQA rows.
func QID(dataset, lang, id string) string { return dataset + "/" + lang + "/" + id }
func CID(dataset, lang string, n int) string {
	return dataset + "/" + lang + "/" + strconv.Itoa(n)
}
func DocID(dataset, lang string, article, paragraph int) string {
	return dataset + "/" + lang + "/" + strconv.Itoa(article) + "/" + strconv.Itoa(paragraph)
}

// Build turns parsed language files into queries, candidates and qrels.
//
// Every sentence is one candidate (no deduplication: identical sentences in
// different paragraphs stay distinct candidates, as in LAReQA, which gives
// the published counts). A question's answer sentence is the one whose
// break contains answer_start. Every query of question id g is relevant to
// the answer sentence of g in every selected language.
func Build(spec Spec, langs []string, files map[string]*File) (*Result, error) {
	res := &Result{}
	res.Meta = datasets.Meta{Dataset: spec.Name, Languages: langs, License: spec.License, Notes: spec.Notes}
	type ans struct {
		cid  string
		lang string
	}
	answers := map[string][]ans{} // question id -> answer sentence per language
	for _, lang := range langs {
		f, ok := files[lang]
		if !ok {
			return nil, fmt.Errorf("%s: language %s: file %s/%s.json not loaded", spec.Name, lang, spec.Name, lang)
		}
		st := LangStats{Dataset: spec.Name, Lang: lang, Articles: int64(len(f.Data))}
		n := 0
		for ai, a := range f.Data {
			for pi, p := range a.Paragraphs {
				st.Paragraphs++
				doc := DocID(spec.Name, lang, ai, pi)
				ctx := []rune(p.Context)
				first := n
				for si, s := range p.Sentences {
					b := p.SentenceBreaks[si]
					if string(ctx[b[0]:b[1]]) != s {
						st.SentenceTextMismatch++
					}
					res.Candidates = append(res.Candidates, tables.Candidate{
						Dataset: spec.Name, CID: CID(spec.Name, lang, n), Lang: lang,
						Text: s, Context: p.Context, DocID: doc,
					})
					n++
				}
				for _, q := range p.QAs {
					a0 := q.Answers[0]
					si := AnswerSentence(p.SentenceBreaks, a0.AnswerStart)
					cid := CID(spec.Name, lang, first+si)
					qid := QID(spec.Name, lang, q.ID)
					res.Queries = append(res.Queries, tables.Query{
						Dataset: spec.Name, Split: "test", QID: qid, GroupID: q.ID, Lang: lang, Text: q.Question,
					})
					if a0.AnswerStart+utf8.RuneCountInString(a0.Text) > p.SentenceBreaks[si][1] {
						st.AnswersCrossingBreak++
						res.Crossings = append(res.Crossings, Crossing{QID: qid, CID: cid, Answer: a0.Text, Sentence: p.Sentences[si]})
					}
					answers[q.ID] = append(answers[q.ID], ans{cid: cid, lang: lang})
					st.Queries++
				}
			}
		}
		st.Candidates = int64(n)
		res.Stats = append(res.Stats, st)
	}
	statIdx := map[string]int{}
	for i, s := range res.Stats {
		statIdx[s.Lang] = i
	}
	for _, q := range res.Queries {
		for _, a := range answers[q.GroupID] {
			res.Qrels = append(res.Qrels, tables.Qrel{Dataset: spec.Name, QID: q.QID, CID: a.cid, Relevance: 1})
		}
		res.Stats[statIdx[q.Lang]].Qrels += int64(len(answers[q.GroupID]))
	}
	var crossing int64
	for _, s := range res.Stats {
		crossing += s.AnswersCrossingBreak
	}
	res.Meta.Counts = map[string]int64{
		"queries": int64(len(res.Queries)), "candidates": int64(len(res.Candidates)),
		"qrels": int64(len(res.Qrels)), "groups": int64(len(answers)), "answers_crossing_break": crossing,
	}
	return res, nil
}

// Languages validates a language selection against a spec (empty = all) and
// returns it in the spec's canonical order.
func Languages(spec Spec, sel []string) ([]string, error) {
	if len(sel) == 0 {
		return slices.Clone(spec.Languages), nil
	}
	var out []string
	for _, l := range spec.Languages {
		if slices.Contains(sel, l) {
			out = append(out, l)
		}
	}
	for _, l := range sel {
		if !slices.Contains(spec.Languages, l) {
			return nil, fmt.Errorf("%s has no language %q; it has %v", spec.Name, l, spec.Languages)
		}
	}
	return out, nil
}

// LangFile is the raw file of one language (as pinned in download and
// laid out in a mirror's dataset directory).
func LangFile(lang string) string { return lang + ".json" }

// LoadDir parses the language files <dir>/<lang>.json (for example a mirror's
// xquad-r directory) and builds the dataset.
func LoadDir(ctx context.Context, spec Spec, dir string, langs []string) (*Result, error) {
	paths := map[string]string{}
	for _, l := range langs {
		paths[l] = filepath.Join(dir, LangFile(l))
	}
	return LoadFiles(ctx, spec, langs, paths)
}

// LoadFiles parses one file per language and builds the dataset.
func LoadFiles(ctx context.Context, spec Spec, langs []string, paths map[string]string) (*Result, error) {
	files := map[string]*File{}
	for _, l := range langs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		p, ok := paths[l]
		if !ok {
			return nil, fmt.Errorf("%s: no file for language %s (expected %s/%s.json)", spec.Name, l, spec.Name, l)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("%s: language %s: %w", spec.Name, l, err)
		}
		f, err := ParseBytes(spec.Name+"/"+l+".json", data)
		if err != nil {
			return nil, err
		}
		files[l] = f
	}
	return Build(spec, langs, files)
}

// Write writes the dataset artifact (queries, candidates, qrels, meta.json)
// plus stats.parquet into dir.
func (r *Result) Write(dir string) error {
	if err := r.Dataset.Write(dir); err != nil {
		return err
	}
	return tables.Write(filepath.Join(dir, datasets.StatsFile), r.Stats, r.Meta.TableMeta())
}
