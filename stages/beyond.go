package stages

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/lair-ir/lair/datasets/beir"
	"github.com/lair-ir/lair/encoder/debias"
	"github.com/lair-ir/lair/eval"
	"github.com/lair-ir/lair/eval/fusion"
	"github.com/lair-ir/lair/pipeline"
	"github.com/lair-ir/lair/tables"
)

// registerBeyond adds the stages that go beyond the paper: fusion of
// rankings, training-free debiasing of embeddings and BEIR folders.
func registerBeyond(r *pipeline.Registry) {
	r.Register(fuseStage())
	r.Register(debiasStage())
	r.Register(beirStage())
}

func fuseStage() *pipeline.StageType {
	return &pipeline.StageType{
		Name:    "retrieve/fuse",
		Version: "2",
		Doc: "Fuses two or more rankings of the same queries and pools (e.g. BM25 and a dense encoder) into one ordinary " +
			"rankings artifact: reciprocal rank fusion (score w/(k+rank)) or weighted score fusion after per-query z-score or " +
			"min-max normalisation. Inputs are taken in the order of needs; only datasets every input ranks are fused. " +
			"A relevant candidate that no input retrieved gets a rank estimated from its exact input ranks. " +
			"Settings are fused one at a time (mono, cross, multi; each pass re-reads the inputs), so memory holds one setting's rankings.",
		Params: []pipeline.Param{
			{Name: "method", Type: pipeline.TypeString, Default: fusion.RRF, Doc: "rrf or score"},
			{Name: "k", Type: pipeline.TypeFloat, Default: 60.0, Doc: "RRF constant"},
			{Name: "norm", Type: pipeline.TypeString, Default: fusion.ZScore, Doc: "score fusion normalisation per query: zscore or minmax"},
			{Name: "weights", Type: pipeline.TypeStrings, Default: []string{}, Doc: "one weight per input, in needs order (default: all 1)"},
			{Name: "depth", Type: pipeline.TypeInt, Default: 1000, Doc: "length of the fused top list per query"},
			{Name: "run_id", Type: pipeline.TypeString, Default: "", Doc: "name of the fused system (default: the inputs' run ids joined with +)"},
		},
		Inputs: []pipeline.Input{{Kind: pipeline.KindRankings, Many: true, Doc: "two or more rankings over the same queries and pools"}},
		Output: pipeline.KindRankings,
		Run:    runFuse,
	}
}

func runFuse(ctx context.Context, sc *pipeline.StageContext) error {
	evalDefaults(sc)
	p := sc.Params
	arts := sc.InputsOf(pipeline.KindRankings)
	var weights []float64
	for i, s := range p.Strings("weights") {
		w, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("stage %s: weights[%d] = %q: want a number", sc.Name, i, s)
		}
		weights = append(weights, w)
	}
	if len(weights) == 0 {
		weights = nil
	}
	dirs := make([]string, len(arts))
	for i, a := range arts {
		dirs[i] = a.Dir
	}
	// One setting at a time (mono, cross, multi): each pass re-reads the
	// inputs and keeps that setting's rows of the datasets all inputs rank,
	// so memory holds one setting's rankings, not all of them.
	in, err := fusion.Scan(dirs)
	if err != nil {
		return fmt.Errorf("stage %s: %w", sc.Name, err)
	}
	inputs, runIDs, common := in.Inputs, in.RunIDs, in.Datasets
	runID := p.String("run_id")
	if runID == "" {
		runID = strings.Join(runIDs, "+")
	}
	w, err := eval.CreateRankingsArtifact(sc.OutDir)
	if err != nil {
		return err
	}
	var st fusion.Stats
	for _, setting := range []string{eval.Mono, eval.Cross, eval.Multi} {
		if err = in.ReadSetting(dirs, setting); err != nil {
			break
		}
		var s fusion.Stats
		s, err = fusion.Fuse(ctx, in.Inputs, fusion.Options{Method: p.String("method"), K: p.Float("k"), Norm: p.String("norm"),
			Weights: weights, Depth: p.Int("depth"), RunID: runID}, w.Write)
		st.Rows += s.Rows
		st.Unretrieved += s.Unretrieved
		if err != nil {
			err = fmt.Errorf("setting %s: %w", setting, err)
			break
		}
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("stage %s: %w", sc.Name, err)
	}
	sc.Log.Info("fused", "run_id", runID, "inputs", len(inputs), "datasets", common, "rows", st.Rows,
		"relevant_unretrieved", st.Unretrieved)
	return eval.WriteRankingsMeta(sc.OutDir, map[string]any{"run_id": runID, "inputs": runIDs,
		"datasets": common, "method": p.String("method"), "rows": st.Rows, "relevant_unretrieved": st.Unretrieved})
}

func debiasStage() *pipeline.StageType {
	return &pipeline.StageType{
		Name:    "embed/debias",
		Version: "1",
		Doc: "Removes language identity from embeddings without training, fit on training-side texts only: " +
			"center (subtract each role and language's mean unit vector, re-normalise) or project (remove the top " +
			"principal directions of the language means). Needs two embeddings inputs: the fit set (the stage named by " +
			"`fit`, e.g. the training fold encoded by the same model) and the embeddings to transform.",
		Params: []pipeline.Param{
			{Name: "fit", Type: pipeline.TypeString, Default: "", Doc: "name of the stage whose embeddings fit the transform (required)"},
			{Name: "method", Type: pipeline.TypeString, Default: debias.Center, Doc: "center or project"},
			{Name: "components", Type: pipeline.TypeInt, Default: 1, Doc: "directions removed by project (1 .. languages-1)"},
		},
		Inputs: []pipeline.Input{{Kind: pipeline.KindEmbeddings, Many: true, Doc: "the fit embeddings and the embeddings to transform"}},
		Output: pipeline.KindEmbeddings,
		Run:    runDebias,
	}
}

// stageBase is a stage instance name without its matrix suffix.
func stageBase(instance string) string {
	base, _, _ := strings.Cut(instance, "[")
	return base
}

func runDebias(ctx context.Context, sc *pipeline.StageContext) error {
	evalDefaults(sc)
	fitName := sc.Params.String("fit")
	if fitName == "" {
		return fmt.Errorf("stage %s: set fit: the name of the stage whose embeddings fit the transform (training-side texts)", sc.Name)
	}
	var fitArt, applyArt []pipeline.Artifact
	for _, a := range sc.InputsOf(pipeline.KindEmbeddings) {
		if stageBase(a.Stage) == fitName {
			fitArt = append(fitArt, a)
		} else {
			applyArt = append(applyArt, a)
		}
	}
	if len(fitArt) != 1 || len(applyArt) != 1 {
		return fmt.Errorf("stage %s: want one embeddings input from stage %q (the fit set) and one other (to transform), got %d and %d: check needs and fit",
			sc.Name, fitName, len(fitArt), len(applyArt))
	}
	fit, fitPath, err := tables.ReadEmbeddingsArtifact(fitArt[0].Dir)
	if err != nil {
		return fmt.Errorf("stage %s: %w", sc.Name, err)
	}
	m, err := debias.Fit(fit, fitPath, sc.Params.String("method"), sc.Params.Int("components"))
	if err != nil {
		return fmt.Errorf("stage %s: %w", sc.Name, err)
	}
	fit = nil
	in, inPath, err := tables.ReadEmbeddingsArtifact(applyArt[0].Dir)
	if err != nil {
		return fmt.Errorf("stage %s: %w", sc.Name, err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	out, st, err := m.Apply(in, inPath)
	if err != nil {
		return fmt.Errorf("stage %s: %w", sc.Name, err)
	}
	if err := tables.WriteEmbeddings(sc.OutDir, out); err != nil {
		return fmt.Errorf("stage %s: %w", sc.Name, err)
	}
	sc.Log.Info("debiased", "method", m.Method, "fit_languages", m.Langs, "rows", st.Rows, "zero_vectors", st.Zero, "fallback_rows", st.Fallback)
	return tables.WriteEmbeddingsMeta(sc.OutDir, map[string]any{"method": m.Method, "fit_stage": fitArt[0].Stage,
		"fit_languages": m.Langs, "directions": len(m.Directions), "rows": st.Rows, "zero_vectors": st.Zero, "fallback_rows": st.Fallback})
}

func beirStage() *pipeline.StageType {
	return &pipeline.StageType{
		Name:    "dataset/beir",
		Version: "1",
		Doc: "Reads a BEIR-format folder (corpus.jsonl, queries.jsonl, qrels/<split>.tsv; .jsonl.gz too) into lair's " +
			"queries, candidates and qrels. Languages come from a field of each record or one code for the folder. " +
			"The cache key is the path, not the content: give a changed folder a new path.",
		Params: []pipeline.Param{
			{Name: "path", Type: pipeline.TypeString, Default: "", Doc: "the BEIR folder (required)"},
			{Name: "name", Type: pipeline.TypeString, Default: "", Doc: "dataset name in lair's tables (default: the folder's base name)"},
			{Name: "split", Type: pipeline.TypeString, Default: "test", Doc: "qrels split: qrels/<split>.tsv"},
			{Name: "lang", Type: pipeline.TypeString, Default: "", Doc: "ISO 639-1 code of records without a lang_field value"},
			{Name: "lang_field", Type: pipeline.TypeString, Default: "", Doc: "JSON field holding each record's language"},
			{Name: "license", Type: pipeline.TypeString, Default: "", Doc: "license of the data, carried by every table"},
		},
		Output: pipeline.KindDataset,
		Run: func(ctx context.Context, sc *pipeline.StageContext) error {
			evalDefaults(sc)
			p := sc.Params
			dir := p.String("path")
			if dir == "" {
				return fmt.Errorf("stage %s: set path: the BEIR folder", sc.Name)
			}
			name := p.String("name")
			if name == "" {
				name = filepath.Base(filepath.Clean(dir))
			}
			ds, err := beir.Read(ctx, dir, beir.Options{Name: name, Split: p.String("split"), Lang: p.String("lang"),
				LangField: p.String("lang_field"), License: p.String("license")})
			if err != nil {
				return fmt.Errorf("stage %s: %w", sc.Name, err)
			}
			sc.Log.Info("BEIR folder read", "dataset", name, "languages", ds.Meta.Languages, "queries", len(ds.Queries),
				"candidates", len(ds.Candidates), "qrels", len(ds.Qrels))
			return ds.Write(sc.OutDir)
		},
	}
}
