package stages

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"

	"github.com/lair-ir/lair/datasets"
	"github.com/lair-ir/lair/encoder/model"
	"github.com/lair-ir/lair/eval"
	"github.com/lair-ir/lair/eval/bm25"
	"github.com/lair-ir/lair/eval/stats"
	"github.com/lair-ir/lair/pipeline"
	"github.com/lair-ir/lair/reports"
	"github.com/lair-ir/lair/reports/mteb"
	"github.com/lair-ir/lair/tables"
)

// registerEval registers retrieve/dense, retrieve/bm25, eval/lareqa,
// eval/miracl, report/html and report/sweep.
func registerEval(r *pipeline.Registry) {
	r.Register(retrieveDenseStage())
	r.Register(retrieveBM25Stage())
	r.Register(evalStage("eval/lareqa", "LAReQA-style evaluation (XQuAD-R, MLQA-R): mAP over the full ranking, mAP@20, R@1, R@10, MRR@10, nDCG@10, R@100 "+
		"per query language, per (query language, candidate language) pair and macro-averaged, for the mono, cross and multi settings; "+
		"language bias (rank distance, same-language-first share, mean rank per candidate language, top-10 language mix) in multi.",
		eval.DefaultLAReQAMetrics, eval.DefaultRunDepth, true))
	r.Register(evalStage("eval/miracl", "MIRACL-style evaluation (monolingual): nDCG@10 and Recall@100 at retrieval depth 1000 (graded relevance from qrels), "+
		"plus mAP and MRR@10; TREC run files at depth 1000.", eval.DefaultMIRACLMetrics, 1000, false))
	r.Register(reportStage())
	r.Register(sweepStage())
}

var retrievalParams = []pipeline.Param{
	{Name: "settings", Type: pipeline.TypeStrings, Default: []string{eval.Mono, eval.Cross, eval.Multi},
		Doc: "mono (queries of X against the candidates of X), cross (X against each other language Y), multi (X against the pooled candidates of all languages)"},
	{Name: "k", Type: pipeline.TypeInt, Default: 1000, Doc: "top-k list kept per query for mono and multi (TREC run depth); ranks of relevant candidates are always exact over the full ranking"},
	{Name: "cross_k", Type: pipeline.TypeInt, Default: 20, Doc: "top-k list kept per query and candidate language in the cross setting"},
	{Name: "run_id", Type: pipeline.TypeString, Default: "", Doc: "name of the system in metrics and reports (default: derived from the producing stage instance)"},
}

func retrieveDenseStage() *pipeline.StageType {
	return &pipeline.StageType{
		Name:    "retrieve/dense",
		Version: "1",
		Doc: "Exact dense retrieval: dot product of (L2-normalized) embeddings, every query against every candidate of its pools, " +
			"blocked multi-core AVX2 kernel; writes rankings.parquet (ranks of relevant candidates in the full ranking, top-k). " +
			"Ties break by candidate id. run_id defaults to the embeddings' producing instance, e.g. encode[strategy=hybrid].",
		Params: append(slices.Clone(retrievalParams),
			pipeline.Param{Name: "normalize", Type: pipeline.TypeBool, Default: true, Doc: "scale vectors to unit length (cosine similarity)"}),
		Inputs: []pipeline.Input{
			{Kind: pipeline.KindEmbeddings, Doc: "vectors of the dataset's queries (role query) and candidates (role passage)"},
			{Kind: pipeline.KindDataset, Doc: "queries, candidates and qrels"},
		},
		Output: pipeline.KindRankings,
		Run:    runRetrieveDense,
	}
}

func retrieveBM25Stage() *pipeline.StageType {
	return &pipeline.StageType{
		Name:    "retrieve/bm25",
		Version: "1",
		Doc: "Okapi BM25 baseline with a Unicode analyzer (NFKC, case folding, word segmentation by Unicode classes, character bigrams for " +
			"Chinese, Japanese, Thai, Lao, Khmer, Myanmar); per-language statistics for mono and cross, pooled statistics for multi. " +
			"Writes the same rankings.parquet as retrieve/dense, for every dataset input. run_id defaults to the instance name.",
		Params: append(slices.Clone(retrievalParams),
			pipeline.Param{Name: "k1", Type: pipeline.TypeFloat, Default: bm25.DefaultParams.K1, Doc: "BM25 term-frequency saturation"},
			pipeline.Param{Name: "b", Type: pipeline.TypeFloat, Default: bm25.DefaultParams.B, Doc: "BM25 length normalization, in [0,1]"}),
		Inputs: []pipeline.Input{{Kind: pipeline.KindDataset, Many: true, Doc: "one or more datasets; all go into one rankings file"}},
		Output: pipeline.KindRankings,
		Run:    runRetrieveBM25,
	}
}

// evalRunID returns the run id: the run_id parameter, or the name of the
// instance that produced the system's input, or this instance's name.
func evalRunID(sc *pipeline.StageContext, from string) string {
	if id := sc.Params.String("run_id"); id != "" {
		return id
	}
	if from != "" {
		return from
	}
	return sc.Name
}

func evalRetrieveOptions(sc *pipeline.StageContext, runID string) eval.RetrieveOptions {
	p := sc.Params
	return eval.RetrieveOptions{RunID: runID, Settings: p.Strings("settings"), K: p.Int("k"), CrossK: p.Int("cross_k"),
		Threads: max(1, sc.Env.Threads), Progress: func(n int) { sc.Progress.Add(int64(n)) }}
}

// evalDefaults fills in a missing logger and progress reporter.
func evalDefaults(sc *pipeline.StageContext) {
	if sc.Progress == nil {
		sc.Progress = pipeline.NopProgress{}
	}
	if sc.Log == nil {
		sc.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
}

func runRetrieveDense(ctx context.Context, sc *pipeline.StageContext) error {
	evalDefaults(sc)
	embIn, err := sc.Input(pipeline.KindEmbeddings)
	if err != nil {
		return err
	}
	dsIn, err := sc.Input(pipeline.KindDataset)
	if err != nil {
		return err
	}
	ds, err := datasets.ReadChecked(dsIn.Dir)
	if err != nil {
		return fmt.Errorf("stage %s: %w", sc.Name, err)
	}
	emb, embPath, err := tables.ReadEmbeddingsArtifact(embIn.Dir)
	if err != nil {
		return fmt.Errorf("stage %s: %w", sc.Name, err)
	}
	p := eval.Prepare(ds)
	scorer, err := eval.DenseScorer(p, emb, embPath, sc.Params.Bool("normalize"))
	if err != nil {
		return fmt.Errorf("stage %s: %w", sc.Name, err)
	}
	modelKey := emb.ModelKey
	emb = nil // the scorer holds its own (normalized) copy
	badQ, badC := eval.CountBad(scorer.Bad)
	var badIDs []string
	for _, b := range scorer.Bad {
		if len(badIDs) == 1000 {
			break
		}
		badIDs = append(badIDs, b.Role+":"+b.ID+":"+b.Reason)
	}
	if len(scorer.Bad) > 0 {
		sc.Log.Warn("degenerate embeddings", "queries", badQ, "passages", badC, "detail", eval.SummarizeBad(scorer.Bad, 20))
	}

	runID := evalRunID(sc, embIn.Stage)
	sc.Progress.Start("retrieve "+ds.Name(), int64(len(ds.Queries)))
	ropt := evalRetrieveOptions(sc, runID)
	ropt.License = datasets.License(dsIn.Dir)
	st, err := eval.RetrieveToArtifact(ctx, p, scorer, scorer, ropt, sc.OutDir)
	if err != nil {
		return fmt.Errorf("stage %s: %w", sc.Name, err)
	}
	sc.Log.Info("retrieved", "run_id", runID, "dataset", ds.Name(), "rows", st.Rows, "skipped_no_relevant", st.NoRel,
		"degenerate_queries", badQ, "degenerate_passages", badC)
	return eval.WriteRankingsMeta(sc.OutDir, map[string]any{"run_id": runID, "datasets": []string{ds.Name()},
		"model_key": modelKey, "rows": st.Rows, "skipped_no_relevant": st.NoRel, "license": datasets.License(dsIn.Dir),
		"degenerate_embeddings": map[string]any{"queries": badQ, "passages": badC, "ids": badIDs}})
}

func runRetrieveBM25(ctx context.Context, sc *pipeline.StageContext) error {
	evalDefaults(sc)
	p := sc.Params
	params := bm25.Params{K1: p.Float("k1"), B: p.Float("b")}
	runID := evalRunID(sc, "")
	var dirs []string
	for _, in := range sc.InputsOf(pipeline.KindDataset) {
		dirs = append(dirs, in.Dir)
	}
	res, err := eval.RetrieveBM25Artifact(ctx, dirs, params, evalRetrieveOptions(sc, runID), sc.OutDir,
		func(ds string, total int) { sc.Progress.Start("bm25 "+ds, int64(total)) })
	if err != nil {
		return fmt.Errorf("stage %s: %w", sc.Name, err)
	}
	return eval.WriteRankingsMeta(sc.OutDir, map[string]any{"run_id": runID, "datasets": res.Datasets, "rows": res.Rows,
		"k1": params.K1, "b": params.B, "license": res.License})
}

func evalStage(name, doc string, defMetrics []string, depth int, bias bool) *pipeline.StageType {
	return &pipeline.StageType{
		Name:    name,
		Version: "2",
		Doc: doc + " Writes metrics.parquet (tidy: run_id, dataset, setting, q_lang, c_lang, metric, value, n), per_query.parquet " +
			"(streamed in bounded row groups, one (run, dataset, setting) slice each) and TREC files under runs/: RUN.DATASET.SETTING.run.gz " +
			"(gzip; scores in full float32 precision, strictly decreasing per query so that trec_eval's re-sort keeps lair's ranks) and " +
			"DATASET.SETTING.qrels (once per dataset and setting).",
		Params: []pipeline.Param{
			{Name: "metrics", Type: pipeline.TypeStrings, Default: defMetrics, Doc: "ranking metrics: map, map@K, r@K, mrr@K, ndcg@K"},
			{Name: "bias", Type: pipeline.TypeBool, Default: bias, Doc: "language-bias metrics from the multi setting (rd, same_lang_first, mean_rank, top10_share)"},
			{Name: "run_depth", Type: pipeline.TypeInt, Default: depth, Doc: "TREC run file depth per query (0: no run files); at most the retrieval's k"},
			{Name: "run_settings", Type: pipeline.TypeStrings, Default: []string{eval.Mono, eval.Multi},
				Doc: "settings that get TREC run files (cross has one ranking per query and candidate language, so its files are large; add cross to get them)"},
		},
		Inputs: []pipeline.Input{
			{Kind: pipeline.KindRankings, Many: true, Doc: "rankings of one or more systems"},
			{Kind: pipeline.KindDataset, Many: true, Doc: "the datasets the rankings rank (matched by dataset name)"},
		},
		Output: pipeline.KindMetrics,
		Run:    runEval,
	}
}

func runEval(ctx context.Context, sc *pipeline.StageContext) error {
	evalDefaults(sc)
	var dss []*datasets.Dataset
	meta := map[string]string{}
	var licenses []string
	for _, in := range sc.InputsOf(pipeline.KindDataset) {
		ds, err := datasets.ReadChecked(in.Dir)
		if err != nil {
			return fmt.Errorf("stage %s: %w", sc.Name, err)
		}
		dss = append(dss, ds)
		if l := datasets.License(in.Dir); l != "" {
			licenses = append(licenses, ds.Name()+": "+l)
		}
	}
	if len(licenses) > 0 {
		meta["license"] = strings.Join(licenses, "; ")
	}
	var dirs, degenerate []string
	for _, in := range sc.InputsOf(pipeline.KindRankings) {
		dirs = append(dirs, in.Dir)
		if d := degenerateNote(in.Dir); d != "" {
			degenerate = append(degenerate, d)
		}
	}
	if len(degenerate) > 0 {
		// zero or non-finite embeddings the retrieval ranked last; the report shows this line
		meta["degenerate_embeddings"] = strings.Join(degenerate, "; ")
		sc.Log.Warn("rankings with degenerate embeddings", "runs", meta["degenerate_embeddings"])
	}
	p := sc.Params
	sc.Progress.Start("evaluate", int64(len(dirs)))
	m, err := eval.EvaluateArtifact(ctx, dirs, dss, eval.EvalConfig{Metrics: p.Strings("metrics"), Bias: p.Bool("bias"),
		RunDepth: p.Int("run_depth"), RunSettings: p.Strings("run_settings"), PerQueryMeta: meta}, sc.OutDir)
	if err != nil {
		return fmt.Errorf("stage %s: %w", sc.Name, err)
	}
	sc.Log.Info("evaluated", "metric_rows", len(m))
	return nil
}

func reportStage() *pipeline.StageType {
	return &pipeline.StageType{
		Name:    "report/html",
		Version: "3",
		Doc: "One self-contained report.html (inline CSS and SVG, no scripts, no external requests): at the top, per dataset, multi mAP " +
			"against rank distance per system with 95% bootstrap intervals and the paper's points; pref@10 and PEER@100 bars per query " +
			"language; summary table of mono/cross/multi " +
			"mAP, R@k and rank distance per system beside the paper's reference rows, mAP heatmaps per (query language, candidate language), " +
			"language-bias charts, significance of every run against a baseline (paired randomization test, bootstrap CI, Holm), and " +
			"training-loss curves when model inputs carry training_log.parquet. Also writes the merged metrics.parquet, per_query.parquet " +
			"and significance.parquet (with language_groups also language_groups.parquet, the group averages the summary shows), and summary.md (Markdown table of the main numbers with significance marks) and summary.svg " +
			"(multi mAP and rank distance per system and dataset) for embedding in a README.",
		Params: []pipeline.Param{
			{Name: "title", Type: pipeline.TypeString, Default: "lair report", Doc: "page title"},
			{Name: "baseline", Type: pipeline.TypeString, Default: "", Doc: "run_id every other run is compared with (default: the first run id in sort order)"},
			{Name: "sig_metrics", Type: pipeline.TypeStrings, Default: []string{"map", "map@20", "r@1", "r@10", "ndcg@10", "r@100"}, Doc: "metrics tested for significance"},
			{Name: "permutations", Type: pipeline.TypeInt, Default: 10000, Doc: "paired randomization test permutations"},
			{Name: "bootstrap", Type: pipeline.TypeInt, Default: 1000, Doc: "bootstrap resamples for confidence intervals"},
			{Name: "alpha", Type: pipeline.TypeFloat, Default: 0.05, Doc: "significance level (Holm-corrected across languages)"},
			{Name: "seed", Type: pipeline.TypeInt, Default: 1, Doc: "seed of the randomization and bootstrap"},
			{Name: "all_pairs", Type: pipeline.TypeBool, Default: false, Doc: "also test every pair of runs into significance.parquet (slow with many runs)"},
			{Name: "language_groups", Type: pipeline.TypeStrings, Default: []string{},
				Doc: "query-language groups reported separately, as NAME=LANG,LANG,... (e.g. unseen=el,ru,th,tr): for every dataset where a group's " +
					"languages occur, the summary adds the macro average over the group's query languages and over the other ones " +
					"(labelled seen for a group named unseen, else not NAME); the all-language averages stay the main numbers"},
		},
		Inputs: []pipeline.Input{
			{Kind: pipeline.KindMetrics, Many: true, Doc: "metrics of one or more evaluations"},
			{Kind: pipeline.KindModel, Many: true, Optional: true, Doc: "trained models whose training_log.parquet is drawn as loss curves"},
		},
		Output: pipeline.KindReport,
		Run:    runReport,
	}
}

func runReport(ctx context.Context, sc *pipeline.StageContext) error {
	evalDefaults(sc)
	p := sc.Params
	in := reports.Input{Title: p.String("title"), Baseline: p.String("baseline"), SigMetrics: p.Strings("sig_metrics"),
		Permutations: p.Int("permutations"), Bootstrap: p.Int("bootstrap"), Alpha: p.Float("alpha"), Seed: uint64(p.Int("seed")),
		Threads: max(1, sc.Env.Threads), AllPairs: p.Bool("all_pairs")}
	for _, g := range p.Strings("language_groups") {
		lg, err := stats.ParseLanguageGroup(g)
		if err != nil {
			return fmt.Errorf("stage %s: param language_groups: %w", sc.Name, err)
		}
		in.LanguageGroups = append(in.LanguageGroups, lg)
	}
	for _, a := range sc.InputsOf(pipeline.KindMetrics) {
		in.MetricsFiles = append(in.MetricsFiles, eval.MetricsPath(a.Dir))
		if pq, ok := eval.PerQueryPath(a.Dir); ok {
			in.PerQueryFiles = append(in.PerQueryFiles, pq)
		}
	}
	for _, a := range sc.InputsOf(pipeline.KindModel) {
		if log, ok := model.TrainingLogPath(a.Dir); ok {
			in.TrainingLogs = append(in.TrainingLogs, reports.NamedFile{Name: a.Stage, Path: log})
		}
	}
	if err := reports.Build(ctx, in, sc.OutDir); err != nil {
		return fmt.Errorf("stage %s: %w", sc.Name, err)
	}
	return writeMTEB(sc)
}

// writeMTEB writes mteb results files (reports/mteb) into OutDir/mteb.
func writeMTEB(sc *pipeline.StageContext) error {
	var rows []tables.Metric
	for _, a := range sc.InputsOf(pipeline.KindMetrics) {
		ms, err := eval.ReadMetrics(a.Dir)
		if err != nil {
			return fmt.Errorf("stage %s: %w", sc.Name, err)
		}
		rows = append(rows, ms...)
	}
	paths, unknown, err := mteb.WriteReport(sc.OutDir, rows)
	if err != nil {
		return fmt.Errorf("stage %s: mteb results: %w", sc.Name, err)
	}
	if len(unknown) > 0 {
		sc.Log.Warn("mteb results: language codes without an ISO 639-3 + script mapping, written with script Zyyy", "languages", unknown)
	}
	sc.Log.Info("mteb results written", "files", len(paths))
	return nil
}

func sweepStage() *pipeline.StageType {
	return &pipeline.StageType{
		Name:    "report/sweep",
		Version: "1",
		Doc: "Sweep report: parses run ids of the form NAME[KEY=VALUE,...] (e.g. run_id: \"tiny[alpha=${matrix.alpha},seed=${matrix.seed}]\"), " +
			"averages every metric over the replicate key and plots it against the x key (one SVG line chart per metric and dataset with a " +
			"band: mean ± t-based 95% CI with 3+ replicates, min–max with 2); runs without the x label (e.g. bm25) are dashed reference " +
			"lines. Paired randomization tests between neighbouring x values (per-query values averaged over replicates, Holm across the " +
			"pairs). Writes sweep.html (self-contained), sweep.md and sweep.svg (for a README), sweep.parquet (dataset, setting, metric, x, " +
			"mean, lo, hi, n, band) and sweep_tests.parquet.",
		Params: []pipeline.Param{
			{Name: "title", Type: pipeline.TypeString, Default: "", Doc: "page title (default: lair sweep over X)"},
			{Name: "x", Type: pipeline.TypeString, Default: "alpha", Doc: "run-id label key on the x axis (its values must be numbers)"},
			{Name: "replicate", Type: pipeline.TypeString, Default: "seed", Doc: "run-id label key of replicates (averaged; other keys split the lines)"},
			{Name: "metrics", Type: pipeline.TypeStrings, Default: []string{"multi map", "mono map", "cross map", "rd"},
				Doc: "metrics to plot: \"SETTING METRIC\" (mono|cross|multi and a metrics.parquet metric) or rd / same_lang_first (multi)"},
			{Name: "permutations", Type: pipeline.TypeInt, Default: 10000, Doc: "paired randomization test permutations"},
			{Name: "bootstrap", Type: pipeline.TypeInt, Default: 1000, Doc: "bootstrap resamples for the confidence interval of each difference"},
			{Name: "sig_alpha", Type: pipeline.TypeFloat, Default: 0.05, Doc: "significance level of the marks (Holm-corrected across neighbouring pairs)"},
			{Name: "seed", Type: pipeline.TypeInt, Default: 1, Doc: "seed of the randomization and bootstrap"},
		},
		Inputs: []pipeline.Input{{Kind: pipeline.KindMetrics, Many: true, Doc: "metrics (and per_query.parquet) of the sweep's runs and any reference runs"}},
		Output: pipeline.KindReport,
		Run:    runSweep,
	}
}

func runSweep(ctx context.Context, sc *pipeline.StageContext) error {
	evalDefaults(sc)
	p := sc.Params
	in := reports.SweepInput{Title: p.String("title"), X: p.String("x"), Replicate: p.String("replicate"), Permutations: p.Int("permutations"),
		Bootstrap: p.Int("bootstrap"), Alpha: p.Float("sig_alpha"), Seed: uint64(p.Int("seed")), Threads: max(1, sc.Env.Threads), Log: sc.Log}
	if in.X == "" || in.X == in.Replicate {
		return fmt.Errorf("stage %s: param x must be a label key different from replicate (got x %q, replicate %q)", sc.Name, in.X, in.Replicate)
	}
	for _, m := range p.Strings("metrics") {
		spec, err := reports.ParseMetricSpec(m)
		if err != nil {
			return fmt.Errorf("stage %s: param metrics: %w", sc.Name, err)
		}
		in.Metrics = append(in.Metrics, spec)
	}
	for _, a := range sc.InputsOf(pipeline.KindMetrics) {
		in.MetricsFiles = append(in.MetricsFiles, eval.MetricsPath(a.Dir))
		if pq, ok := eval.PerQueryPath(a.Dir); ok {
			in.PerQueryFiles = append(in.PerQueryFiles, pq)
		}
	}
	if err := reports.BuildSweep(ctx, in, sc.OutDir); err != nil {
		return fmt.Errorf("stage %s: %w", sc.Name, err)
	}
	return nil
}

// degenerateNote summarises the degenerate_embeddings of a retrieve
// stage's meta.json ("" if none): "RUN: Q queries, P passages".
func degenerateNote(dir string) string {
	m, ok, err := eval.ReadRankingsMeta(dir)
	if !ok || err != nil || m.Degenerate.Queries+m.Degenerate.Passages == 0 {
		return ""
	}
	return fmt.Sprintf("%s: %d queries, %d passages", m.RunID, m.Degenerate.Queries, m.Degenerate.Passages)
}
