package leakage

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"

	"github.com/lair-ir/lair/datasets"
	"github.com/lair-ir/lair/tables"
)

// Normalize is the text form compared: Unicode NFC, full case folding,
// every run of white space collapsed to one space, trimmed.
func Normalize(s string) string {
	s = norm.NFC.String(cases.Fold().String(norm.NFC.String(s)))
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		if unicode.IsSpace(r) {
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Options control Check.
type Options struct {
	// MinChars: evaluation texts shorter than this many characters (after
	// normalization) are not counted as leaks; their exact matches are
	// reported as short_exact_overlaps. At least 1.
	MinChars int
	// MaxOverlapFraction: an evaluation dataset fails the check when more
	// than this fraction of its rows (queries + candidates) leak. 0 = any
	// leak fails.
	MaxOverlapFraction float64
	// MaxExamples caps the overlaps listed (0: 20).
	MaxExamples int
}

// Defaults of Options, chosen on the real data (README.md, section Datasets, has
// the numbers). XQuAD-R and MLQA-R, both from Wikipedia, share Wikipedia
// boilerplate: the Hindi "[उद्धरण वांछित]" ("citation needed", 15 characters)
// is a candidate in both. Texts under 10 characters ("ए.", "Iran's",
// "erhielt.") match inside unrelated paragraphs by chance, so they are
// compared for equality only and never fail the check; texts of 10+
// characters fail it once more than 0.1% of a dataset's rows leak, which
// lets the one citation marker through and stops any real leak (training
// on one language of the evaluation set leaks about 9% of its rows).
const (
	DefaultMinChars           = 10
	DefaultMaxOverlapFraction = 0.001
)

// Overlap is one evaluation text found in the training pairs.
type Overlap struct {
	Dataset string `json:"dataset"`
	Kind    string `json:"kind"` // "query" or "candidate"
	ID      string `json:"id"`   // qid or cid
	Text    string `json:"text"`
	PairID  string `json:"pair_id"`
	Field   string `json:"field"` // "q_text" or "p_text"
}

// DatasetFindings counts one evaluation dataset's overlaps.
type DatasetFindings struct {
	Dataset           string `json:"dataset"`
	Queries           int    `json:"queries"`
	Candidates        int    `json:"candidates"`
	QueryOverlaps     int    `json:"query_overlaps"`
	CandidateOverlaps int    `json:"candidate_overlaps"`
	ShortSkipped      int    `json:"short_texts_skipped"`
	ShortExact        int    `json:"short_exact_overlaps"`
	Allowed           int    `json:"allowed_overlaps"` // floor(max_overlap_fraction * (queries + candidates))
	Pass              bool   `json:"pass"`
}

// Report is check.json.
type Report struct {
	Check       string            `json:"check"`
	Pass        bool              `json:"pass"`
	Match       string            `json:"match"`
	MinChars    int               `json:"min_chars"`
	MaxFraction float64           `json:"max_overlap_fraction"`
	Pairs       int               `json:"pairs"`
	TrainTexts  int               `json:"train_texts"`
	Overlaps    int               `json:"overlaps"`
	Datasets    []DatasetFindings `json:"datasets"`
	Examples    []Overlap         `json:"examples"`
}

// Summary is a one-line description of the findings.
func (r *Report) Summary() string {
	if r.Overlaps == 0 {
		return fmt.Sprintf("no evaluation text of %d+ characters occurs in the %d training pairs", r.MinChars, r.Pairs)
	}
	var parts []string
	for _, d := range r.Datasets {
		parts = append(parts, fmt.Sprintf("%s: %d of %d queries, %d of %d candidates", d.Dataset, d.QueryOverlaps, d.Queries, d.CandidateOverlaps, d.Candidates))
	}
	s := fmt.Sprintf("%d evaluation texts occur in the training pairs (%s)", r.Overlaps, strings.Join(parts, "; "))
	for i, e := range r.Examples {
		if i == 3 {
			break
		}
		s += fmt.Sprintf("; e.g. %s %s %q in pair %s %s", e.Dataset, e.ID, clip(e.Text, 60), e.PairID, e.Field)
	}
	return s
}

func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

type evalText struct {
	norm  string
	rows  []Overlap // every evaluation row with this text (PairID filled on a hit)
	short bool
	hit   bool
}

// Check reports every evaluation query or candidate whose normalized text
// occurs, as a whole or inside a longer text, in a training pair's q_text or
// p_text. Pass is false when, for some evaluation dataset, more than
// MaxOverlapFraction of its rows leak.
func Check(ctx context.Context, pairs []tables.Pair, evals []*datasets.Dataset, opt Options) (*Report, error) {
	if opt.MinChars < 1 {
		return nil, fmt.Errorf("min_chars %d: expected at least 1", opt.MinChars)
	}
	if opt.MaxOverlapFraction < 0 || opt.MaxOverlapFraction >= 1 {
		return nil, fmt.Errorf("max_overlap_fraction %v: expected 0 <= fraction < 1", opt.MaxOverlapFraction)
	}
	if opt.MaxExamples <= 0 {
		opt.MaxExamples = 20
	}
	rep := &Report{Check: "leakage", Match: "substring of normalized text", MinChars: opt.MinChars, MaxFraction: opt.MaxOverlapFraction, Pairs: len(pairs)}

	// Evaluation texts, deduplicated on the normalized form.
	var texts []*evalText
	byNorm := map[string]*evalText{}
	for _, d := range evals {
		f := DatasetFindings{Dataset: d.Meta.Dataset, Queries: len(d.Queries), Candidates: len(d.Candidates)}
		rep.Datasets = append(rep.Datasets, f)
		add := func(kind, id, text string) {
			n := Normalize(text)
			e := byNorm[n]
			if e == nil {
				e = &evalText{norm: n, short: utf8.RuneCountInString(n) < opt.MinChars}
				byNorm[n] = e
				texts = append(texts, e)
			}
			e.rows = append(e.rows, Overlap{Dataset: d.Meta.Dataset, Kind: kind, ID: id, Text: text})
		}
		for _, q := range d.Queries {
			add("query", q.QID, q.Text)
		}
		for _, c := range d.Candidates {
			add("candidate", c.CID, c.Text)
		}
	}
	// Index long texts by their first MinChars characters.
	prefix := map[string][]*evalText{}
	for _, e := range texts {
		if e.short || e.norm == "" {
			continue
		}
		k := e.norm[:byteLen(e.norm, opt.MinChars)]
		prefix[k] = append(prefix[k], e)
	}

	// Training texts, deduplicated, in pair order.
	type trainText struct{ pairID, field string }
	seen := map[string]bool{}
	rawSeen := map[string]bool{}
	var offs []int
	hit := func(e *evalText, t trainText) {
		if e.hit {
			return
		}
		e.hit = true
		for i := range e.rows {
			e.rows[i].PairID, e.rows[i].Field = t.pairID, t.field
		}
	}
	for i, p := range pairs {
		if i%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		for _, fv := range [2]struct{ field, text string }{{"q_text", p.QText}, {"p_text", p.PText}} {
			if rawSeen[fv.text] {
				continue
			}
			rawSeen[fv.text] = true
			n := Normalize(fv.text)
			if seen[n] {
				continue
			}
			seen[n] = true
			tt := trainText{pairID: p.PairID, field: fv.field}
			if e := byNorm[n]; e != nil && e.short {
				hit(e, tt) // short texts: exact matches only, reported apart
			}
			offs = offs[:0]
			for j := range n {
				offs = append(offs, j)
			}
			offs = append(offs, len(n))
			for j := 0; j+opt.MinChars < len(offs); j++ {
				cands := prefix[n[offs[j]:offs[j+opt.MinChars]]]
				for _, e := range cands {
					if !e.hit && strings.HasPrefix(n[offs[j]:], e.norm) {
						hit(e, tt)
					}
				}
			}
		}
	}
	rep.TrainTexts = len(seen)

	dsIdx := map[string]int{}
	for i, d := range rep.Datasets {
		dsIdx[d.Dataset] = i
	}
	for _, e := range texts {
		for _, r := range e.rows {
			f := &rep.Datasets[dsIdx[r.Dataset]]
			switch {
			case e.short && e.hit:
				f.ShortExact++
			case e.short:
				f.ShortSkipped++
			case e.hit:
				if r.Kind == "query" {
					f.QueryOverlaps++
				} else {
					f.CandidateOverlaps++
				}
				rep.Overlaps++
				if len(rep.Examples) < opt.MaxExamples {
					rep.Examples = append(rep.Examples, r)
				}
			}
		}
	}
	rep.Pass = true
	for i := range rep.Datasets {
		f := &rep.Datasets[i]
		f.Allowed = int(opt.MaxOverlapFraction * float64(f.Queries+f.Candidates))
		f.Pass = f.QueryOverlaps+f.CandidateOverlaps <= f.Allowed
		rep.Pass = rep.Pass && f.Pass
	}
	return rep, nil
}

// byteLen returns the byte length of the first n runes of s (len(s) when shorter).
func byteLen(s string, n int) int {
	for i := range s {
		if n == 0 {
			return i
		}
		n--
	}
	return len(s)
}

// ReportFile is the file of a check artifact that holds the Report.
const ReportFile = "check.json"

// WriteReport writes the report (check.json) into the check artifact dir.
func WriteReport(dir string, r *Report) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, ReportFile), append(b, '\n'), 0o644)
}

// ReadReport reads the report of the check artifact in dir.
func ReadReport(dir string) (*Report, error) {
	path := filepath.Join(dir, ReportFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}
