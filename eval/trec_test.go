package eval

import (
	"bufio"
	"cmp"
	"compress/gzip"
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/lair-ir/lair/eval/bm25"
)

type trecLine struct {
	qid, doc string
	rank     int
	score    float64
	text     string // the score as written
}

// readRunGz reads a .run.gz file (all gzip members) into lines per query.
func readRunGz(t *testing.T, path string) map[string][]trecLine {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s is not gzip: %v", path, err)
	}
	out := map[string][]trecLine{}
	sc := bufio.NewScanner(zr)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) != 6 || fs[1] != "Q0" {
			t.Fatalf("%s: bad line %q", path, sc.Text())
		}
		rank, err1 := strconv.Atoi(fs[3])
		score, err2 := strconv.ParseFloat(fs[4], 64) // trec_eval reads scores with atof
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: bad line %q", path, sc.Text())
		}
		out[fs[0]] = append(out[fs[0]], trecLine{fs[0], fs[2], rank, score, fs[4]})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// trecEvalOrder sorts a query's lines the way trec_eval does: score
// descending, then docid descending (strcmp).
func trecEvalOrder(ls []trecLine) {
	slices.SortStableFunc(ls, func(a, b trecLine) int {
		if c := cmp.Compare(b.score, a.score); c != 0 {
			return c
		}
		return strings.Compare(b.doc, a.doc)
	})
}

// TestTRECRoundTrip: rankings with tied and ulp-close scores (hand-made,
// and BM25 on short texts, which ties a lot) written to .run.gz and
// re-sorted the way trec_eval does give lair's ranks; written scores read
// back as float32 equal lair's except inside ties, where they are at most
// a few ulps lower.
func TestTRECRoundTrip(t *testing.T) {
	one := float32(1)
	below := func(x float32) float32 { return math.Nextafter32(x, -1) }
	rows := []Ranking{
		// ties broken by cid ascending in lair: a b c at 0.5, d e at 0.25
		{Dataset: "hand", Setting: Mono, QID: "q1", QLang: "en", CLang: "en", PoolSize: 9,
			TopCIDs: []string{"a", "b", "c", "d", "e"}, TopScores: []float32{0.5, 0.5, 0.5, 0.25, 0.25}},
		// a tie right above a score one ulp lower: the cascade pushes past it
		{Dataset: "hand", Setting: Mono, QID: "q2", QLang: "en", CLang: "en", PoolSize: 9,
			TopCIDs: []string{"x", "y", "z", "w"}, TopScores: []float32{one, one, below(one), below(below(one))}},
		// the lowest finite score (degenerate embeddings) and exact decimals
		{Dataset: "hand", Setting: Mono, QID: "q3", QLang: "en", CLang: "en", PoolSize: 9,
			TopCIDs: []string{"m", "n", "o"}, TopScores: []float32{0.1, 1e-30, -math.MaxFloat32}},
	}
	p, _, _ := loadSynthetic(t, []string{"en", "de"}, 30, 20)
	perLang, pooled, err := BM25Scorers(p, bm25.DefaultParams, nil, 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Retrieve(context.Background(), p, perLang, pooled, RetrieveOptions{RunID: "bm25", K: 40, CrossK: 5, Threads: 2, QueryBlock: 8},
		func(b []Ranking) error { rows = append(rows, b...); return nil }); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tw, err := NewTRECWriter(dir, 30)
	if err != nil {
		t.Fatal(err)
	}
	for i := range rows {
		if err := tw.Add(&rows[i]); err != nil {
			t.Fatal(err)
		}
	}
	// the first slice again: appended as a second gzip member
	again := rows[0]
	again.QID = "q1again"
	if err := tw.Add(&again); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	rows = append(rows, again)
	files := map[string]map[string][]trecLine{}
	ties := 0
	for _, r := range rows {
		name := RunFileName(r.RunID, r.Dataset, r.Setting)
		if files[name] == nil {
			files[name] = readRunGz(t, filepath.Join(dir, name))
		}
		qid := r.QID
		if r.Setting == Cross {
			qid += "/" + r.CLang
		}
		got := slices.Clone(files[name][qid])
		n := min(30, len(r.TopCIDs))
		if len(got) != n {
			t.Fatalf("%s %s: %d lines, want %d", name, qid, len(got), n)
		}
		trecEvalOrder(got)
		for i := 0; i < n; i++ {
			if got[i].doc != r.TopCIDs[i] || got[i].rank != i+1 {
				t.Fatalf("%s %s: trec_eval order puts %s (written rank %d) at rank %d, lair ranks %s there", name, qid, got[i].doc, got[i].rank, i+1, r.TopCIDs[i])
			}
			w, err := strconv.ParseFloat(got[i].text, 32)
			if err != nil {
				t.Fatal(err)
			}
			s := r.TopScores[i]
			if i > 0 && r.TopScores[i-1] == s {
				ties++
			}
			ulp := math.Abs(float64(math.Nextafter32(s, float32(math.Inf(1)))) - float64(s))
			if float32(w) > s || float64(s)-w > 64*ulp {
				t.Errorf("%s %s rank %d: wrote %s for score %v", name, qid, i+1, got[i].text, s)
			}
		}
	}
	if ties < 20 {
		t.Fatalf("only %d tied scores: the test needs rankings with ties", ties)
	}
	// one qrels file per (dataset, setting), whatever the runs
	qrels, _ := filepath.Glob(filepath.Join(dir, "*.qrels"))
	if len(qrels) != 4 {
		t.Errorf("qrels files %v, want one per (dataset, setting)", qrels)
	}
}
