package eval

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// DefaultRunDepth is the default depth of TREC run files (results per
// query), as in TREC and MIRACL.
const DefaultRunDepth = 1000

// TRECWriter writes TREC run and qrels files from ranking rows.
//
//   - runs/<run>.<dataset>.<setting>.run.gz: one gzip-compressed run per
//     (run, dataset, setting); lines `qid Q0 docid rank score tag`, rank
//     from 1, in lair's rank order, at most Depth per query.
//   - runs/<dataset>.<setting>.qrels: the judgments, written once per
//     (dataset, setting) whatever the number of runs (plain text: trec_eval
//     reads qrels as they are).
//
// In the cross setting a query appears once per candidate language, so
// its TREC query id is "<qid>/<c_lang>".
//
// trec_eval ignores the rank column: it re-sorts each query by score
// (descending) and breaks ties by docid (descending). lair ranks by score
// and breaks ties by candidate id ascending. So that trec_eval's order is
// lair's order, a run file never holds two equal scores for one query:
// scores are printed with full float32 precision (shortest form that
// reads back as the same float32), and within a tie each later entry is
// written one float32 step (ulp) below the one before it. Only tied (or
// ulp-close) scores change, by a few ulps; the order and every other
// score are exact.
//
// Only one run file is open at a time (ranking rows come grouped by run,
// dataset and setting); a slice that comes back later (the same run in a
// second rankings file) is appended as a further gzip member, which gzip
// readers concatenate.
type TRECWriter struct {
	Dir   string
	Depth int

	cur      string // open run file's name
	run      *os.File
	gz       *gzip.Writer
	rw       *bufio.Writer
	written  map[string]bool   // run files created
	qrelsBy  map[string]string // qrels file -> the run that writes it
	qrelsCur string
	qrels    *os.File
	qw       *bufio.Writer
	scores   []float32
	buf      []byte
}

// NewTRECWriter creates dir and returns a writer; depth <= 0 means
// DefaultRunDepth.
func NewTRECWriter(dir string, depth int) (*TRECWriter, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if depth <= 0 {
		depth = DefaultRunDepth
	}
	return &TRECWriter{Dir: dir, Depth: depth, written: map[string]bool{}, qrelsBy: map[string]string{}}, nil
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

// RunFileName is the name of the run file of a (run, dataset, setting).
func RunFileName(runID, dataset, setting string) string {
	name := sanitize(dataset) + "." + setting + ".run.gz"
	if runID != "" {
		name = fileSafe(runID) + "." + name
	}
	return name
}

// QrelsFileName is the name of the qrels file of a (dataset, setting).
func QrelsFileName(dataset, setting string) string {
	return sanitize(dataset) + "." + setting + ".qrels"
}

// TRECScores returns the scores to write for a ranking's top list (in
// rank order): the same float32 values, except that each one is lowered
// to at most one float32 step below the previous one, so that they
// strictly decrease and trec_eval's re-sort keeps lair's order.
func TRECScores(dst, scores []float32) []float32 {
	dst = dst[:0]
	for i, s := range scores {
		if i > 0 {
			if below := math.Nextafter32(dst[i-1], float32(math.Inf(-1))); s > below || s != s {
				s = below
			}
		}
		dst = append(dst, s)
	}
	return dst
}

func (t *TRECWriter) openRun(name string) error {
	if name == t.cur {
		return nil
	}
	if err := t.closeRun(); err != nil {
		return err
	}
	flag := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
	if t.written[name] {
		flag = os.O_WRONLY | os.O_APPEND
	}
	f, err := os.OpenFile(filepath.Join(t.Dir, name), flag, 0o644)
	if err != nil {
		return err
	}
	t.written[name] = true
	t.cur, t.run = name, f
	t.gz, _ = gzip.NewWriterLevel(f, gzip.BestSpeed)
	t.rw = bufio.NewWriterSize(t.gz, 1<<16)
	return nil
}

func (t *TRECWriter) closeRun() error {
	if t.run == nil {
		return nil
	}
	err := t.rw.Flush()
	if e := t.gz.Close(); err == nil {
		err = e
	}
	if e := t.run.Close(); err == nil {
		err = e
	}
	if err != nil {
		err = fmt.Errorf("write %s: %w", filepath.Join(t.Dir, t.cur), err)
	}
	t.cur, t.run, t.gz, t.rw = "", nil, nil, nil
	return err
}

// openQrels opens the qrels file of the row's (dataset, setting) and
// reports whether this row's run writes it (the first run seen does).
func (t *TRECWriter) openQrels(r *Ranking) (bool, error) {
	name := QrelsFileName(r.Dataset, r.Setting)
	owner, ok := t.qrelsBy[name]
	if ok && owner != r.RunID {
		return false, nil
	}
	if name == t.qrelsCur {
		return true, nil
	}
	if err := t.closeQrels(); err != nil {
		return false, err
	}
	flag := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
	if ok {
		flag = os.O_WRONLY | os.O_APPEND
	}
	f, err := os.OpenFile(filepath.Join(t.Dir, name), flag, 0o644)
	if err != nil {
		return false, err
	}
	t.qrelsBy[name] = r.RunID
	t.qrelsCur, t.qrels, t.qw = name, f, bufio.NewWriter(f)
	return true, nil
}

func (t *TRECWriter) closeQrels() error {
	if t.qrels == nil {
		return nil
	}
	err := t.qw.Flush()
	if e := t.qrels.Close(); err == nil {
		err = e
	}
	if err != nil {
		err = fmt.Errorf("write %s: %w", filepath.Join(t.Dir, t.qrelsCur), err)
	}
	t.qrelsCur, t.qrels, t.qw = "", nil, nil
	return err
}

// Add writes one ranking row.
func (t *TRECWriter) Add(r *Ranking) error {
	if err := t.openRun(RunFileName(r.RunID, r.Dataset, r.Setting)); err != nil {
		return err
	}
	qid := sanitize(r.QID)
	if r.Setting == Cross {
		qid += "/" + r.CLang
	}
	tag := sanitize(r.RunID)
	n := min(len(r.TopCIDs), t.Depth)
	t.scores = TRECScores(t.scores, r.TopScores[:n])
	for i := 0; i < n; i++ {
		buf := t.buf[:0]
		buf = append(buf, qid...)
		buf = append(buf, " Q0 "...)
		buf = append(buf, sanitize(r.TopCIDs[i])...)
		buf = append(buf, ' ')
		buf = strconv.AppendInt(buf, int64(i+1), 10)
		buf = append(buf, ' ')
		buf = strconv.AppendFloat(buf, float64(t.scores[i]), 'g', -1, 32)
		buf = append(buf, ' ')
		buf = append(buf, tag...)
		buf = append(buf, '\n')
		t.buf = buf
		if _, err := t.rw.Write(buf); err != nil {
			return fmt.Errorf("write %s: %w", filepath.Join(t.Dir, t.cur), err)
		}
	}
	own, err := t.openQrels(r)
	if err != nil || !own {
		return err
	}
	for i, c := range r.RelCIDs {
		if _, err := fmt.Fprintf(t.qw, "%s 0 %s %d\n", qid, sanitize(c), r.RelGrades[i]); err != nil {
			return fmt.Errorf("write %s: %w", filepath.Join(t.Dir, t.qrelsCur), err)
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

// Close flushes and closes the open files.
func (t *TRECWriter) Close() error {
	err := t.closeRun()
	if e := t.closeQrels(); err == nil {
		err = e
	}
	return err
}
