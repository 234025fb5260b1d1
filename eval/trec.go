package eval

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// TRECWriter writes TREC run and qrels files from ranking rows: one pair
// of files per (dataset, setting), runs/<dataset>.<setting>.run and
// runs/<dataset>.<setting>.qrels. In the cross setting a query appears
// once per candidate language, so its TREC query id is "<qid>/<c_lang>".
// Run lines are `qid Q0 docid rank score tag`, rank from 1, in rank order
// (score desc, cid asc), at most Depth per query. trec_eval re-sorts by
// score and breaks ties by docid descending, so on runs with tied scores
// its numbers can differ slightly; map on a run as deep as the pool equals
// lair's full-ranking map.
type TRECWriter struct {
	Dir   string
	Depth int
	files map[string]*trecFiles
}

type trecFiles struct {
	run, qrels *os.File
	rw, qw     *bufio.Writer
}

// NewTRECWriter creates dir and returns a writer.
func NewTRECWriter(dir string, depth int) (*TRECWriter, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return &TRECWriter{Dir: dir, Depth: depth, files: map[string]*trecFiles{}}, nil
}

// sanitize makes a string safe as one whitespace-free TREC field.
func sanitize(s string) string {
	if s == "" {
		return "lair"
	}
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\n' || r == '\r' {
			return '_'
		}
		return r
	}, s)
}

// Add writes one ranking row.
func (t *TRECWriter) Add(r *Ranking) error {
	name := sanitize(r.Dataset) + "." + r.Setting
	if r.RunID != "" {
		name = fileSafe(r.RunID) + "." + name
	}
	f := t.files[name]
	if f == nil {
		run, err := os.Create(filepath.Join(t.Dir, name+".run"))
		if err != nil {
			return err
		}
		qrels, err := os.Create(filepath.Join(t.Dir, name+".qrels"))
		if err != nil {
			run.Close()
			return err
		}
		f = &trecFiles{run: run, qrels: qrels, rw: bufio.NewWriterSize(run, 1<<16), qw: bufio.NewWriter(qrels)}
		t.files[name] = f
	}
	qid := sanitize(r.QID)
	if r.Setting == Cross {
		qid += "/" + r.CLang
	}
	tag := sanitize(r.RunID)
	buf := make([]byte, 0, 96)
	for i := 0; i < len(r.TopCIDs) && i < t.Depth; i++ {
		buf = buf[:0]
		buf = append(buf, qid...)
		buf = append(buf, " Q0 "...)
		buf = append(buf, sanitize(r.TopCIDs[i])...)
		buf = append(buf, ' ')
		buf = strconv.AppendInt(buf, int64(i+1), 10)
		buf = append(buf, ' ')
		buf = strconv.AppendFloat(buf, float64(r.TopScores[i]), 'f', 6, 32)
		buf = append(buf, ' ')
		buf = append(buf, tag...)
		buf = append(buf, '\n')
		if _, err := f.rw.Write(buf); err != nil {
			return err
		}
	}
	for i, c := range r.RelCIDs {
		if _, err := fmt.Fprintf(f.qw, "%s 0 %s %d\n", qid, sanitize(c), r.RelGrades[i]); err != nil {
			return err
		}
	}
	return nil
}

// fileSafe maps a run id such as "encode[strategy=hybrid]" to a file name part.
func fileSafe(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '=', r == ',':
			return r
		}
		return '_'
	}, s)
}

// Close flushes and closes every file.
func (t *TRECWriter) Close() error {
	var first error
	for _, f := range t.files {
		for _, c := range []func() error{f.rw.Flush, f.qw.Flush, f.run.Close, f.qrels.Close} {
			if err := c(); err != nil && first == nil {
				first = err
			}
		}
	}
	return first
}
