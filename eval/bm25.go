package eval

import (
	"github.com/lair-ir/lair/eval/bm25"
)

// BM25Scorers builds the BM25 scorers for a prepared dataset: per-language
// indexes for mono and cross, a pooled index for multi. Pass only what
// the requested settings need: perLang is nil unless mono or cross is
// wanted, pooled nil unless multi is.
func BM25Scorers(p *Prepared, params bm25.Params, settings []string, threads int) (perLang, pooled *bm25.Scorer, err error) {
	qt := make([]string, len(p.DS.Queries))
	ql := make([]string, len(p.DS.Queries))
	for i, q := range p.DS.Queries {
		qt[i], ql[i] = q.Text, q.Lang
	}
	ct := make([]string, len(p.CID))
	for i, row := range p.CandRow {
		ct[i] = p.DS.Candidates[row].Text
	}
	segs := p.segments()
	want := map[string]bool{}
	for _, s := range settings {
		want[s] = true
	}
	if len(settings) == 0 {
		want = map[string]bool{Mono: true, Cross: true, Multi: true}
	}
	qterms := bm25.Tokenize(qt, ql, threads)
	cterms := bm25.Tokenize(ct, p.CLang, threads)
	if want[Mono] || want[Cross] {
		if perLang, err = bm25.NewScorerTerms(qterms, cterms, segs, false, params); err != nil {
			return nil, nil, err
		}
	}
	if want[Multi] {
		if pooled, err = bm25.NewScorerTerms(qterms, cterms, segs, true, params); err != nil {
			return nil, nil, err
		}
	}
	return perLang, pooled, nil
}
