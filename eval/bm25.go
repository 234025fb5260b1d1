package eval

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/lair-ir/lair/datasets"
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

// BM25Result summarises RetrieveBM25Artifact.
type BM25Result struct {
	Datasets []string                  // the datasets ranked, in input order
	Rows     map[string]map[string]int // per dataset: rows per setting
	License  string                    // "DATASET: LICENSE; ..." of the datasets that have one
}

// RetrieveBM25Artifact ranks the queries of every dataset artifact in
// datasetDirs with BM25 (per-language indexes for mono and cross, a pooled
// one for multi) into the one rankings artifact outDir. start, when set,
// is called before each dataset with its name and the number of query
// passes (one for mono and cross together, one for multi) times its
// queries; opt.Progress counts them.
func RetrieveBM25Artifact(ctx context.Context, datasetDirs []string, params bm25.Params, opt RetrieveOptions, outDir string, start func(dataset string, total int)) (*BM25Result, error) {
	w, err := CreateRankingsArtifact(outDir)
	if err != nil {
		return nil, err
	}
	res := &BM25Result{Rows: map[string]map[string]int{}}
	var licenses []string
	opt.QueryBlock = 16
	settings := opt.Settings
	if len(settings) == 0 {
		settings = []string{Mono, Cross, Multi}
	}
	passes := 0
	if slices.Contains(settings, Multi) {
		passes++
	}
	if slices.Contains(settings, Mono) || slices.Contains(settings, Cross) {
		passes++
	}
	for _, dir := range datasetDirs {
		ds, err := datasets.ReadChecked(dir)
		if err != nil {
			w.Close()
			return nil, err
		}
		prep := Prepare(ds)
		perLang, pooled, err := BM25Scorers(prep, params, opt.Settings, opt.Threads)
		if err != nil {
			w.Close()
			return nil, err
		}
		if start != nil {
			start(ds.Name(), passes*len(ds.Queries))
		}
		st, err := Retrieve(ctx, prep, perLang, pooled, opt, w.Write)
		if err != nil {
			w.Close()
			return nil, fmt.Errorf("%s: %w", ds.Name(), err)
		}
		res.Datasets = append(res.Datasets, ds.Name())
		if l := ds.Meta.License; l != "" {
			licenses = append(licenses, ds.Name()+": "+l)
		}
		res.Rows[ds.Name()] = st.Rows
	}
	res.License = strings.Join(licenses, "; ")
	w.SetLicense(res.License)
	return res, w.Close()
}
