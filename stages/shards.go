package stages

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/lair-ir/lair/datasets"
	"github.com/lair-ir/lair/datasets/miracl"
	"github.com/lair-ir/lair/eval"
	"github.com/lair-ir/lair/eval/bm25"
	shardpkg "github.com/lair-ir/lair/eval/shard"
	"github.com/lair-ir/lair/pipeline"
	"github.com/lair-ir/lair/reports"
	"github.com/lair-ir/lair/tables"
)

// Sharded retrieval for corpora too large for one search (MIRACL: up to
// ~33M passages per language). One language's corpus is cut into shards
// by a hash of the docid; every shard is encoded, searched and indexed on
// its own, as one matrix instance each (so `lair export argo` runs the
// shards as parallel steps and a failed shard re-runs alone), and
// retrieve/merge combines the per-shard results into the rankings one
// search over the whole corpus would give, ties and exact ranks included:
//
//	corpus/shard[lang,shard]     the shard's passages (+ the language's queries and qrels)
//	encode/shard[lang,shard]     streamed encoding -> embeddings.arrow (memory-mapped below)
//	retrieve/gather              the queries' vectors and every relevant passage's vector, bit for bit from its shard
//	retrieve/dense-shard[..]     top-k of the shard per query + per relevant passage, how many shard passages rank ahead
//	retrieve/bm25-stats          BM25 statistics summed over the shards (+ the relevant passages' texts)
//	retrieve/bm25-shard[..]      as dense-shard, BM25 with the global statistics
//	retrieve/merge               rankings.parquet: merged top-k, rank = 1 + sum of the shards' counts

// registerShards registers the sharded-retrieval stages.
func registerShards(r *pipeline.Registry) {
	r.Register(corpusShardStage())
	r.Register(encodeShardStage())
	r.Register(gatherStage())
	r.Register(denseShardStage())
	r.Register(bm25StatsStage())
	r.Register(bm25ShardStage())
	r.Register(mergeStage())
	r.Register(miraclReferenceStage())
	r.Register(miraclTableStage())
}

var shardParams = []pipeline.Param{
	{Name: "lang", Type: pipeline.TypeString, Required: true, Doc: "the language (MIRACL code) whose corpus is sharded; usually a matrix axis"},
	{Name: "shards", Type: pipeline.TypeInt, Default: 4, Doc: "number of shards of the language's corpus"},
	{Name: "shard", Type: pipeline.TypeString, Default: "0", Doc: "this instance's shard, 0..shards-1 (a string, so that `--set shard_ids=0,1,2` works as a matrix axis)"},
}

func corpusShardStage() *pipeline.StageType {
	return &pipeline.StageType{
		Name:    "corpus/shard",
		Version: "1",
		Doc: "One shard of one language's MIRACL corpus, read from corpus_dir in the official layout (<lang>/docs-*.jsonl.gz or " +
			"miracl-corpus-v1.0-<lang>/docs-*.jsonl.gz): the passages whose docid hashes (FNV-1a mod shards) to this shard, streamed " +
			"into candidates.parquet in row groups (bounded memory), with the language's queries and qrels from the dataset input. " +
			"Every instance reads the language's files on its own, so shards run in parallel and a failed one re-runs alone.",
		Params: append([]pipeline.Param{
			{Name: "corpus_dir", Type: pipeline.TypeString, Required: true, Doc: "directory holding the corpus (bring your own: https://huggingface.co/datasets/miracl/miracl-corpus)"},
		}, shardParams...),
		Inputs: []pipeline.Input{{Kind: pipeline.KindDataset, Doc: "MIRACL topics and qrels (dataset/miracl, topics_only: true is enough)"}},
		Output: pipeline.KindDataset,
		Run:    runCorpusShard,
	}
}

func shardParamsOf(sc *pipeline.StageContext) (lang string, shard, shards int, err error) {
	lang, shards = sc.Params.String("lang"), sc.Params.Int("shards")
	shard, aerr := strconv.Atoi(strings.TrimSpace(sc.Params.String("shard")))
	if aerr != nil || shards < 1 || shard < 0 || shard >= shards {
		return "", 0, 0, fmt.Errorf("stage %s: shard %q of %d: want shards >= 1 and shard an integer in 0..shards-1", sc.Name, sc.Params.String("shard"), shards)
	}
	if !slices.Contains(miracl.Languages, lang) {
		return "", 0, 0, fmt.Errorf("stage %s: lang %q: MIRACL has %v", sc.Name, lang, miracl.Languages)
	}
	return lang, shard, shards, nil
}

func runCorpusShard(ctx context.Context, sc *pipeline.StageContext) error {
	evalDefaults(sc)
	lang, shard, shards, err := shardParamsOf(sc)
	if err != nil {
		return err
	}
	in, err := sc.Input(pipeline.KindDataset)
	if err != nil {
		return err
	}
	dir := sc.Params.String("corpus_dir")
	files, err := miracl.CorpusFiles(dir, lang)
	if err != nil {
		return fmt.Errorf("stage %s: %w", sc.Name, err)
	}
	if len(files) == 0 {
		return fmt.Errorf("stage %s: %w", sc.Name, &miracl.MissingCorpusError{Dir: dir, Langs: []string{lang}})
	}
	sc.Progress.Start("corpus passages", 0)
	meta, err := miracl.WriteShard(ctx, in.Dir, sc.OutDir, miracl.ShardOptions{Lang: lang, Files: files,
		Keep:     func(docid string) bool { return shardpkg.Of(docid, shards) == shard },
		Note:     fmt.Sprintf("shard %d of %d of the %s corpus (docids hashed with FNV-1a)", shard, shards, lang),
		Progress: func(n int) { sc.Progress.Add(int64(n)) }})
	if err != nil {
		return fmt.Errorf("stage %s: %w", sc.Name, err)
	}
	passages := meta.Counts["candidates"]
	sc.Log.Info("shard written", "lang", lang, "shard", shard, "shards", shards, "passages", passages, "files", len(files))
	return shardpkg.WriteInfo(sc.OutDir, shardpkg.Info{Dataset: miracl.Name, Lang: lang, Shard: shard, Shards: shards, Passages: passages, Files: len(files)})
}

// encodeChunk is the number of passages encoded (and held) at a time.
const encodeChunk = 8192

func encodeShardStage() *pipeline.StageType {
	st := encodeStage()
	return &pipeline.StageType{
		Name:    "encode/shard",
		Version: "1",
		Doc: "encode for corpora of any size: the dataset's queries, then its candidates read from candidates.parquet in chunks " +
			"(parameter chunk, default " + fmt.Sprint(encodeChunk) + ") and streamed to embeddings.arrow (uncompressed Arrow IPC, memory-mappable; no embeddings.parquet), " +
			"so memory is bounded by a chunk whatever the corpus size. Parameters as for encode.",
		Params: st.Params, // encode's, chunk included
		Inputs: st.Inputs,
		Output: pipeline.KindEmbeddings,
		Device: st.Device,
		Run:    runEncodeShard,
	}
}

func runEncodeShard(ctx context.Context, sc *pipeline.StageContext) error {
	evalDefaults(sc)
	modelIn, err := sc.Input(pipeline.KindModel)
	if err != nil {
		return err
	}
	din, err := sc.Input(pipeline.KindDataset)
	if err != nil {
		return err
	}
	queries, err := datasets.ReadQueries(din.Dir)
	if err != nil {
		return fmt.Errorf("stage %s: %w", sc.Name, err)
	}
	m, enc, err := openEncoder(sc, modelIn.Dir)
	if err != nil {
		return err
	}
	defer enc.Close()
	p := sc.Params
	ncand, err := datasets.CountCandidates(din.Dir)
	if err != nil {
		return fmt.Errorf("stage %s: %w", sc.Name, err)
	}
	sc.Progress.Start("texts", int64(len(queries))+ncand)
	add := func(n int) { sc.Progress.Add(int64(n)) }
	var w *tables.EmbeddingsWriter
	write := func(role, prefix string, ids, langs, texts []string) error {
		if len(texts) == 0 {
			return nil
		}
		vecs, dim, _, err := enc.Encode(ctx, role, prefix, texts, add)
		if err != nil {
			return err
		}
		if w == nil {
			if w, err = tables.CreateEmbeddingsArtifact(sc.OutDir, dim, m.Hash); err != nil {
				return err
			}
		}
		roles := make([]string, len(ids))
		for i := range roles {
			roles[i] = role
		}
		return w.Write(ids, roles, langs, vecs)
	}
	var ids, langs, texts []string
	for _, q := range queries {
		ids, langs, texts = append(ids, q.QID), append(langs, q.Lang), append(texts, q.Text)
	}
	err = write(tables.RoleQuery, p.String("query_prefix"), ids, langs, texts)
	if err == nil {
		err = datasets.ReadCandidateBatches(din.Dir, max(1, p.Int("chunk")), func(cs []tables.Candidate) error {
			ids, langs, texts = ids[:0], langs[:0], texts[:0]
			for _, c := range cs {
				ids, langs, texts = append(ids, c.CID), append(langs, c.Lang), append(texts, c.Text)
			}
			return write(tables.RolePassage, p.String("passage_prefix"), ids, langs, texts)
		})
	}
	if w == nil && err == nil {
		return fmt.Errorf("stage %s: nothing to encode: the dataset has no queries and no candidates", sc.Name)
	}
	if w != nil {
		if cerr := w.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("stage %s: %w", sc.Name, err)
	}
	if si, ok, err := shardpkg.ReadInfo(din.Dir); err != nil {
		return err
	} else if ok {
		return shardpkg.WriteInfo(sc.OutDir, si)
	}
	return nil
}

func gatherStage() *pipeline.StageType {
	return &pipeline.StageType{
		Name:    "retrieve/gather",
		Version: "1",
		Doc: "The vectors every shard search needs besides its own: each query's (from the first shard artifact that has it) and each " +
			"relevant passage's (qrels relevance > 0), copied bit for bit from the shard that encoded it, so that relevant scores " +
			"and the exact ranks built from them equal those of one search over the whole corpus. Writes embeddings.arrow.",
		Inputs: []pipeline.Input{
			{Kind: pipeline.KindEmbeddings, Many: true, Doc: "every shard's embeddings (encode/shard)"},
			{Kind: pipeline.KindDataset, Doc: "qrels (dataset/miracl)"},
		},
		Output: pipeline.KindEmbeddings,
		Run:    runGather,
	}
}

func runGather(ctx context.Context, sc *pipeline.StageContext) error {
	evalDefaults(sc)
	din, err := sc.Input(pipeline.KindDataset)
	if err != nil {
		return err
	}
	qrels, err := datasets.ReadQrels(din.Dir)
	if err != nil {
		return fmt.Errorf("stage %s: %w", sc.Name, err)
	}
	ins := sc.InputsOf(pipeline.KindEmbeddings)
	sc.Progress.Start("shards", int64(len(ins)))
	gs, err := shardpkg.Gather(ctx, qrels, shardInputs(ins), sc.OutDir, func(n int) { sc.Progress.Add(int64(n)) })
	if err != nil {
		return fmt.Errorf("stage %s: %w", sc.Name, err)
	}
	sc.Log.Info("gathered", "rows", gs.Rows, "relevant_found", gs.RelevantFound, "relevant_judged", gs.RelevantJudged)
	return nil
}

// shardInputs names input artifacts for eval/shard.
func shardInputs(arts []pipeline.Artifact) []shardpkg.Input {
	out := make([]shardpkg.Input, len(arts))
	for i, a := range arts {
		out[i] = shardpkg.Input{Name: a.Stage, Dir: a.Dir}
	}
	return out
}

var shardSearchParams = []pipeline.Param{
	{Name: "k", Type: pipeline.TypeInt, Default: 1000, Doc: "top-k list kept per query (the MIRACL run depth is 1000)"},
	{Name: "run_id", Type: pipeline.TypeString, Required: true, Doc: "name of the system; retrieve/merge merges the shards of one run_id and language"},
}

func denseShardStage() *pipeline.StageType {
	return &pipeline.StageType{
		Name:    "retrieve/dense-shard",
		Version: "1",
		Doc: "Exact dense search of one shard: the shard's memory-mapped embeddings against the language's queries (dot product, " +
			"the blocked AVX2 kernel), keeping each query's top-k (score desc, then id asc) and counting, for each relevant passage, " +
			"the shard's passages ranked ahead of it. retrieve/merge turns the shards' results into exact rankings.",
		Params: slices.Clone(shardSearchParams),
		Inputs: []pipeline.Input{
			{Kind: pipeline.KindEmbeddings, Doc: "the shard's embeddings (encode/shard); needs order: this first"},
			{Kind: pipeline.KindEmbeddings, Doc: "the gathered query and relevant vectors (retrieve/gather)"},
			{Kind: pipeline.KindDataset, Doc: "the shard (corpus/shard): queries and qrels of its language"},
		},
		Output: pipeline.KindRankings,
		Run:    runDenseShard,
	}
}

func runDenseShard(ctx context.Context, sc *pipeline.StageContext) error {
	evalDefaults(sc)
	din, err := sc.Input(pipeline.KindDataset)
	if err != nil {
		return err
	}
	var shardIn, gatherIn []pipeline.Artifact
	for _, in := range sc.InputsOf(pipeline.KindEmbeddings) {
		if shardpkg.IsGather(in.Dir) {
			gatherIn = append(gatherIn, in)
		} else {
			shardIn = append(shardIn, in)
		}
	}
	if len(shardIn) != 1 || len(gatherIn) != 1 {
		return fmt.Errorf("stage %s: want one shard embeddings input (encode/shard) and one retrieve/gather input, have %d and %d", sc.Name, len(shardIn), len(gatherIn))
	}
	rows, si, err := shardpkg.SearchDense(ctx, din.Dir, shardInputs(shardIn)[0], shardInputs(gatherIn)[0], shardSearchOptions(sc))
	if err != nil {
		return fmt.Errorf("stage %s: %w", sc.Name, err)
	}
	return shardpkg.WriteRows(sc.OutDir, rows, si)
}

func shardSearchOptions(sc *pipeline.StageContext) shardpkg.SearchOptions {
	return shardpkg.SearchOptions{RunID: sc.Params.String("run_id"), K: sc.Params.Int("k"), Threads: max(1, sc.Env.Threads),
		Start: func(n int) { sc.Progress.Start("queries", int64(n)) }, Progress: func(n int) { sc.Progress.Add(int64(n)) }}
}

func bm25StatsStage() *pipeline.StageType {
	return &pipeline.StageType{
		Name:    "retrieve/bm25-stats",
		Version: "1",
		Doc: "BM25 collection statistics of every language, summed over its shards: documents, tokens (avgdl = tokens/documents) " +
			"and each term's document frequency (integer sums, so equal to one index over the whole corpus), plus the judged " +
			"passages (candidates.parquet; relevant ones give exact ranks) with the queries and the qrels of the passages found: a small " +
			"dataset artifact that eval/miracl evaluates the merged rankings against. Adds bm25_stats.parquet and bm25_stats.json.",
		Inputs: []pipeline.Input{{Kind: pipeline.KindDataset, Many: true, Doc: "every shard (corpus/shard)"}},
		Output: pipeline.KindDataset,
		Run:    runBM25Stats,
	}
}

// readCandidateTerms analyzes a shard's candidates batch by batch.
func runBM25Stats(ctx context.Context, sc *pipeline.StageContext) error {
	evalDefaults(sc)
	ins := sc.InputsOf(pipeline.KindDataset)
	sc.Progress.Start("shards", int64(len(ins)))
	c, err := shardpkg.CollectBM25(ctx, shardInputs(ins), max(1, sc.Env.Threads), func(n int) { sc.Progress.Add(int64(n)) })
	if err != nil {
		return fmt.Errorf("stage %s: %w", sc.Name, err)
	}
	sc.Log.Info("bm25 statistics", "languages", len(c.Totals.Docs), "judged_passages", len(c.Candidates), "qrels_not_in_corpus", c.Dropped)
	for _, w := range []func() error{
		func() error { return shardpkg.WriteBM25Stats(sc.OutDir, c.Stats, c.Totals) },
		func() error { return datasets.WriteQueries(sc.OutDir, c.Queries, nil) },
		func() error { return datasets.WriteQrels(sc.OutDir, c.Qrels, nil) },
		func() error { return datasets.WriteCandidates(sc.OutDir, c.Candidates, nil) },
	} {
		if err := w(); err != nil {
			return err
		}
	}
	return datasets.WriteMeta(sc.OutDir, datasets.Meta{Dataset: miracl.Name, License: miracl.License, Counts: map[string]int64{"candidates": int64(len(c.Candidates)), "terms": int64(len(c.Stats))},
		Notes: []string{"BM25 statistics summed over shards; candidates are the judged passages only", fmt.Sprintf("%d qrels rows name passages missing from the corpus and were dropped", c.Dropped)}})
}

func bm25ShardStage() *pipeline.StageType {
	return &pipeline.StageType{
		Name:    "retrieve/bm25-shard",
		Version: "1",
		Doc: "BM25 search of one shard with the language's global statistics (retrieve/bm25-stats): every passage scores exactly as " +
			"in one index over the whole corpus; keeps each query's top-k and counts the shard's passages ahead of each relevant passage.",
		Params: append(slices.Clone(shardSearchParams),
			pipeline.Param{Name: "k1", Type: pipeline.TypeFloat, Default: bm25.DefaultParams.K1, Doc: "BM25 term-frequency saturation"},
			pipeline.Param{Name: "b", Type: pipeline.TypeFloat, Default: bm25.DefaultParams.B, Doc: "BM25 length normalization, in [0,1]"}),
		Inputs: []pipeline.Input{
			{Kind: pipeline.KindDataset, Doc: "the shard (corpus/shard); needs order: this first"},
			{Kind: pipeline.KindDataset, Doc: "the statistics (retrieve/bm25-stats)"},
		},
		Output: pipeline.KindRankings,
		Run:    runBM25Shard,
	}
}

func runBM25Shard(ctx context.Context, sc *pipeline.StageContext) error {
	evalDefaults(sc)
	var shardDir, statsDir string
	for _, in := range sc.InputsOf(pipeline.KindDataset) {
		if shardpkg.HasBM25Stats(in.Dir) {
			statsDir = in.Dir
		} else {
			shardDir = in.Dir
		}
	}
	if shardDir == "" || statsDir == "" {
		return fmt.Errorf("stage %s: want a corpus/shard input and a retrieve/bm25-stats input", sc.Name)
	}
	rows, si, err := shardpkg.SearchBM25(ctx, shardDir, statsDir, bm25.Params{K1: sc.Params.Float("k1"), B: sc.Params.Float("b")}, shardSearchOptions(sc))
	if err != nil {
		return fmt.Errorf("stage %s: %w", sc.Name, err)
	}
	return shardpkg.WriteRows(sc.OutDir, rows, si)
}

func mergeStage() *pipeline.StageType {
	return &pipeline.StageType{
		Name:    "retrieve/merge",
		Version: "1",
		Doc: "Merge the per-shard results of retrieve/dense-shard or retrieve/bm25-shard into rankings.parquet (setting mono): each " +
			"query's top-k is the merge of its shards' top-k lists (score desc, then id asc: the same list, ties included, as one " +
			"search over the whole corpus), each relevant passage's rank is 1 + the passages ranked ahead of it summed over the shards " +
			"(exact). Checks that every shard 0..shards-1 of every (run, language) is present exactly once.",
		Params: []pipeline.Param{{Name: "k", Type: pipeline.TypeInt, Default: 1000, Doc: "top-k list length of the merged rankings"}},
		Inputs: []pipeline.Input{{Kind: pipeline.KindRankings, Many: true, Doc: "per-shard results"}},
		Output: pipeline.KindRankings,
		Run:    runMerge,
	}
}

func runMerge(ctx context.Context, sc *pipeline.StageContext) error {
	evalDefaults(sc)
	type runLang struct{ run, lang string }
	groups := map[runLang][]string{} // -> shard artifacts
	for _, in := range sc.InputsOf(pipeline.KindRankings) {
		head, err := shardpkg.ReadHead(in.Dir)
		if err != nil {
			return fmt.Errorf("stage %s: %s: %w", sc.Name, in.Stage, err)
		}
		key := runLang{head.RunID, head.Lang}
		groups[key] = append(groups[key], in.Dir)
	}
	if len(groups) == 0 {
		return fmt.Errorf("stage %s: no per-shard inputs", sc.Name)
	}
	keys := make([]runLang, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].run != keys[j].run {
			return keys[i].run < keys[j].run
		}
		return keys[i].lang < keys[j].lang
	})
	w, err := eval.CreateRankingsArtifact(sc.OutDir)
	if err != nil {
		return err
	}
	k := sc.Params.Int("k")
	summary := map[string]any{}
	sc.Progress.Start("languages", int64(len(keys)))
	for _, key := range keys {
		if err := ctx.Err(); err != nil {
			w.Close()
			return err
		}
		rows, n, err := shardpkg.Merge(key.run, key.lang, groups[key], k)
		if err != nil {
			w.Close()
			return fmt.Errorf("stage %s: %w", sc.Name, err)
		}
		if err := w.Write(rows); err != nil {
			w.Close()
			return err
		}
		summary[key.run+"/"+key.lang] = map[string]any{"shards": len(groups[key]), "passages": n, "rows": len(rows)}
		sc.Progress.Add(1)
	}
	if err := w.Close(); err != nil {
		return err
	}
	return eval.WriteRankingsMeta(sc.OutDir, summary)
}

func miraclReferenceStage() *pipeline.StageType {
	return &pipeline.StageType{
		Name:    "reference/miracl",
		Version: "1",
		Doc: "Published MIRACL dev baselines as reference rows (metrics.parquet, setting mono): BM25 and mDPR nDCG@10 and Recall@100 " +
			"per language from Pyserini's two-click reproductions, and their mean over the selected languages (q_lang all). " +
			"Source: " + miracl.BaselineSource,
		Params: []pipeline.Param{languagesParam},
		Output: pipeline.KindMetrics,
		Run: func(ctx context.Context, sc *pipeline.StageContext) error {
			langs, err := miracl.SelectLanguages(sc.Params.Strings("languages"))
			if err != nil {
				return err
			}
			rows := reports.MIRACLBaselineMetrics(langs)
			if err := eval.WriteMetrics(sc.OutDir, rows, map[string]string{"source": miracl.BaselineSource}); err != nil {
				return err
			}
			return eval.WritePerQuery(sc.OutDir, []tables.PerQuery{}, nil)
		},
	}
}

func miraclTableStage() *pipeline.StageType {
	return &pipeline.StageType{
		Name:    "report/miracl",
		Version: "1",
		Doc: "MIRACL results side by side: nDCG@10 and Recall@100 per language and their mean, one column per system (lair's runs, " +
			"the published baselines of reference/miracl), plus the paper's mean nDCG@10 rows (Elmahdy et al. 2024). Writes " +
			"report.md and metrics.parquet (every input row).",
		Inputs: []pipeline.Input{{Kind: pipeline.KindMetrics, Many: true, Doc: "eval/miracl and reference/miracl metrics"}},
		Output: pipeline.KindReport,
		Run:    runMiraclTable,
	}
}

func runMiraclTable(ctx context.Context, sc *pipeline.StageContext) error {
	evalDefaults(sc)
	var all []tables.Metric
	for _, in := range sc.InputsOf(pipeline.KindMetrics) {
		ms, err := eval.ReadMetrics(in.Dir)
		if err != nil {
			return fmt.Errorf("stage %s: %w", sc.Name, err)
		}
		all = append(all, ms...)
	}
	if err := reports.WriteMIRACL(sc.OutDir, all); err != nil {
		return fmt.Errorf("stage %s: %w", sc.Name, err)
	}
	return nil
}
