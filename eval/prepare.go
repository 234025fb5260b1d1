package eval

import (
	"os"
	"slices"

	"github.com/lair-ir/lair/datasets"
)

// Prepared is a dataset arranged for search.
type Prepared struct {
	DS *datasets.Dataset
	// CandRow[i] is the candidates.parquet row of search candidate i;
	// candidates are sorted by (lang, cid).
	CandRow []int
	CID     []string // search candidate i's id
	CLang   []string // search candidate i's language
	Ord     []int32  // rank of CID[i] among all cids (tie-break order)
	Langs   []string // candidate languages, sorted; segment s is language Langs[s]
	Segs    []searchSegment
	// Per query (in queries.parquet order):
	QuerySeg []int     // segment of the query's language, -1 when no candidate has it
	Rel      [][]int32 // relevant search candidates (relevance > 0)
	Grade    [][]int32 // their grades
}

type searchSegment struct {
	Lang   string
	Lo, Hi int
}

// Prepare sorts candidates into language segments and resolves qrels.
func Prepare(ds *datasets.Dataset) *Prepared {
	p := &Prepared{DS: ds}
	n := len(ds.Candidates)
	p.CandRow = make([]int, n)
	for i := range p.CandRow {
		p.CandRow[i] = i
	}
	slices.SortFunc(p.CandRow, func(a, b int) int {
		ca, cb := &ds.Candidates[a], &ds.Candidates[b]
		if ca.Lang != cb.Lang {
			return cmpStr(ca.Lang, cb.Lang)
		}
		return cmpStr(ca.CID, cb.CID)
	})
	p.CID = make([]string, n)
	p.CLang = make([]string, n)
	index := make(map[string]int32, n)
	for i, row := range p.CandRow {
		p.CID[i] = ds.Candidates[row].CID
		p.CLang[i] = ds.Candidates[row].Lang
		index[p.CID[i]] = int32(i)
		if i == 0 || p.CLang[i] != p.CLang[i-1] {
			p.Langs = append(p.Langs, p.CLang[i])
			p.Segs = append(p.Segs, searchSegment{Lang: p.CLang[i], Lo: i})
		}
		p.Segs[len(p.Segs)-1].Hi = i + 1
	}
	byID := make([]int32, n)
	for i := range byID {
		byID[i] = int32(i)
	}
	slices.SortFunc(byID, func(a, b int32) int { return cmpStr(p.CID[a], p.CID[b]) })
	p.Ord = make([]int32, n)
	for r, i := range byID {
		p.Ord[i] = int32(r)
	}
	segOf := map[string]int{}
	for s, l := range p.Langs {
		segOf[l] = s
	}
	qidx := make(map[string]int, len(ds.Queries))
	p.QuerySeg = make([]int, len(ds.Queries))
	for i, q := range ds.Queries {
		qidx[q.QID] = i
		s, ok := segOf[q.Lang]
		if !ok {
			s = -1
		}
		p.QuerySeg[i] = s
	}
	p.Rel = make([][]int32, len(ds.Queries))
	p.Grade = make([][]int32, len(ds.Queries))
	for _, r := range ds.Qrels {
		if r.Relevance <= 0 {
			continue
		}
		q := qidx[r.QID]
		c := index[r.CID]
		if slices.Contains(p.Rel[q], c) {
			continue
		}
		p.Rel[q] = append(p.Rel[q], c)
		p.Grade[q] = append(p.Grade[q], r.Relevance)
	}
	return p
}

func cmpStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// isDir reports whether path is a directory.
func isDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}
