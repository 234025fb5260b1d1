package stages

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/lair-ir/lair/datasets"
	"github.com/lair-ir/lair/datasets/download"
	"github.com/lair-ir/lair/datasets/lareqa"
	"github.com/lair-ir/lair/datasets/leakage"
	"github.com/lair-ir/lair/datasets/miracl"
	"github.com/lair-ir/lair/datasets/pairs"
	"github.com/lair-ir/lair/pipeline"
)

func registerDatasets(r *pipeline.Registry) {
	r.Register(lareqaStage(lareqa.XQuADR, "XQuAD-R (LAReQA): 11 languages, 13,090 queries, 13,014 candidate sentences, 143,990 qrels. License CC BY-SA 4.0."))
	r.Register(lareqaStage(lareqa.MLQAR, "MLQA-R (LAReQA): 7 languages, 4,199 queries, 20,534 candidate sentences, 15,747 qrels. License CC BY-NC 4.0: NON-COMMERCIAL use only."))
	r.Register(miraclStage())
	r.Register(parallelQAStage())
	r.Register(pairsFileStage())
	r.Register(leakageStage())
}

var languagesParam = pipeline.Param{Name: "languages", Type: pipeline.TypeStrings,
	Doc: "ISO 639-1 codes of the languages to keep (default: all of the dataset's)"}

func downloader(sc *pipeline.StageContext) *download.Client {
	return &download.Client{Mirror: sc.Env.Mirror, CacheDir: sc.Env.CacheDir, Progress: sc.Progress, Log: sc.Log}
}

func lareqaStage(spec lareqa.Spec, doc string) *pipeline.StageType {
	return &pipeline.StageType{
		Name:    "dataset/" + spec.Name,
		Version: "1",
		Doc: doc + " Downloads the pinned language files (or reads them from the mirror: --mirror / LAIR_MIRROR, " +
			"layout " + spec.Name + "/<lang>.json), verifies their sha256 and writes queries, candidates (one per sentence, " +
			"paragraph as context), qrels (every translation's answer sentence), stats.parquet and meta.json.",
		Params: []pipeline.Param{languagesParam},
		Output: pipeline.KindDataset,
		Run: func(ctx context.Context, sc *pipeline.StageContext) error {
			langs, err := lareqa.Languages(spec, sc.Params.Strings("languages"))
			if err != nil {
				return err
			}
			var srcs []download.Source
			for _, l := range langs {
				s, ok := download.Lookup(spec.Name, lareqa.LangFile(l))
				if !ok {
					return fmt.Errorf("%s: no pinned source for %s", spec.Name, lareqa.LangFile(l))
				}
				srcs = append(srcs, s)
			}
			paths, err := downloader(sc).FetchAll(ctx, srcs)
			if err != nil {
				return err
			}
			files := map[string]string{}
			var sources []datasets.SourceFile
			for i, l := range langs {
				files[l] = paths[i]
				sources = append(sources, datasets.SourceFile{File: srcs[i].RelPath(), URL: srcs[i].URL(), SHA256: srcs[i].SHA256})
			}
			res, err := lareqa.LoadFiles(ctx, spec, langs, files)
			if err != nil {
				return err
			}
			res.Meta.Sources = sources
			for i, c := range res.Crossings {
				if i == 5 {
					break
				}
				sc.Log.Info("answer crosses a sentence break (kept: the sentence holding answer_start answers)", "qid", c.QID, "cid", c.CID, "answer", c.Answer)
			}
			if spec.Name == lareqa.MLQAR.Name {
				sc.Log.Warn("MLQA-R is licensed CC BY-NC 4.0: non-commercial use only; the license is recorded in meta.json and every table's metadata")
			}
			sc.Log.Info(spec.Name+" prepared", "languages", len(langs), "queries", len(res.Queries), "candidates", len(res.Candidates),
				"qrels", len(res.Qrels), "answers_crossing_break", len(res.Crossings), "license", spec.License)
			return res.Write(sc.OutDir)
		},
	}
}

func miraclStage() *pipeline.StageType {
	return &pipeline.StageType{
		Name:    "dataset/miracl",
		Version: "1",
		Doc: "MIRACL v1.0 dev (18 languages, monolingual): topics and qrels from the pinned anserini-tools files, " +
			"candidates streamed from the corpus in corpus_dir (<lang>/docs-*.jsonl.gz, not downloaded by lair). " +
			"License Apache-2.0.",
		Params: []pipeline.Param{
			languagesParam,
			{Name: "corpus_dir", Type: pipeline.TypeString, Doc: "directory holding the MIRACL corpus as <lang>/docs-*.jsonl.gz (https://huggingface.co/datasets/miracl/miracl-corpus)"},
			{Name: "topics_only", Type: pipeline.TypeBool, Default: false, Doc: "emit queries and qrels only; candidates.parquet is empty (no corpus needed)"},
			{Name: "only_judged", Type: pipeline.TypeBool, Default: false, Doc: "keep only corpus passages that appear in the qrels (a small pool for smoke tests; not the official setting)"},
		},
		Output: pipeline.KindDataset,
		Run: func(ctx context.Context, sc *pipeline.StageContext) error {
			langs, err := miracl.SelectLanguages(sc.Params.Strings("languages"))
			if err != nil {
				return err
			}
			var srcs []download.Source
			for _, l := range langs {
				for _, name := range []string{miracl.TopicsFile(l), miracl.QrelsFile(l)} {
					s, ok := download.Lookup("miracl", name)
					if !ok {
						return fmt.Errorf("miracl: no pinned source for %s", name)
					}
					srcs = append(srcs, s)
				}
			}
			paths, err := downloader(sc).FetchAll(ctx, srcs)
			if err != nil {
				return err
			}
			files := map[string]miracl.Files{}
			for i, l := range langs {
				files[l] = miracl.Files{Topics: paths[2*i], Qrels: paths[2*i+1]}
			}
			opt := miracl.Options{CorpusDir: sc.Params.String("corpus_dir"), TopicsOnly: sc.Params.Bool("topics_only"), OnlyJudged: sc.Params.Bool("only_judged")}
			meta, err := miracl.Prepare(ctx, langs, files, opt, sc.OutDir, sc.Progress)
			if err != nil {
				return err
			}
			sc.Log.Info("miracl prepared", "languages", len(langs), "queries", meta.Counts["queries"], "qrels", meta.Counts["qrels"],
				"candidates", meta.Counts["candidates"], "topics_only", opt.TopicsOnly)
			return nil
		},
	}
}

func parallelQAStage() *pipeline.StageType {
	return &pipeline.StageType{
		Name:    "pairs/parallel-qa",
		Version: "1",
		Doc: "Training pairs from a parallel QA dataset: for every question group and ordered language pair (X, Y), " +
			"the question in X with the answer sentence in Y (kind mono when X = Y, else cross), and a seeded " +
			"train/validation split over groups that share no paragraph. The dataset's license carries over.",
		Params: []pipeline.Param{
			languagesParam,
			{Name: "positive", Type: pipeline.TypeString, Default: pairs.PositiveSentence, Enum: []string{pairs.PositiveSentence, pairs.PositiveSentenceWithContext},
				Doc: "p_text: the answer sentence, or the sentence, a blank line and its paragraph"},
			{Name: "validation_fraction", Type: pipeline.TypeFloat, Default: 0.1, Doc: "share of question groups put in the validation split (0 <= f < 1)"},
			{Name: "seed", Type: pipeline.TypeInt, Default: 1, Doc: "seed of the split"},
		},
		Inputs: []pipeline.Input{{Kind: pipeline.KindDataset, Doc: "a parallel QA dataset (e.g. dataset/xquad-r)"}},
		Output: pipeline.KindPairs,
		Run: func(ctx context.Context, sc *pipeline.StageContext) error {
			in, err := sc.Input(pipeline.KindDataset)
			if err != nil {
				return err
			}
			d, err := datasets.Read(in.Dir)
			if err != nil {
				return err
			}
			ps, st, err := pairs.FromDataset(d, pairs.Options{
				Languages: sc.Params.Strings("languages"), Positive: sc.Params.String("positive"),
				ValidationFraction: sc.Params.Float("validation_fraction"), Seed: uint64(sc.Params.Int("seed")),
			})
			if err != nil {
				return fmt.Errorf("pairs from %s: %w", in.Stage, err)
			}
			sc.Log.Info("pairs made", "source", d.Meta.Dataset, "mono", st.Mono, "cross", st.Cross, "train", st.Train,
				"validation", st.Validation, "groups", st.Groups, "split_units", st.Units, "license", d.Meta.License)
			meta := datasets.Meta{Dataset: d.Meta.Dataset, License: d.Meta.License, Languages: sc.Params.Strings("languages"),
				Counts: map[string]int64{"groups": st.Groups, "split_units": st.Units, "validation_groups": st.ValidationGroups},
				Notes:  append([]string{"pairs/parallel-qa from " + d.Meta.Dataset + ", positive " + sc.Params.String("positive")}, d.Meta.Notes...)}
			return pairs.Write(sc.OutDir, ps, meta)
		},
	}
}

func pairsFileStage() *pipeline.StageType {
	return &pipeline.StageType{
		Name:    "pairs/file",
		Version: "1",
		Doc: "Training pairs from a user's file: Parquet in the pairs schema, or JSONL with the same field names " +
			"(pair_id, group_id, source, kind, q_lang, q_text, p_lang, p_text, neg_text, split). Every field is validated; " +
			"kind defaults from the languages, split to train.",
		Params: []pipeline.Param{
			{Name: "path", Type: pipeline.TypeString, Required: true, Doc: "the .parquet or .jsonl file (its path, not its content, is part of the cache key)"},
			{Name: "license", Type: pipeline.TypeString, Default: "unspecified", Doc: "license of the pairs, written to meta.json and the Parquet metadata"},
		},
		Output: pipeline.KindPairs,
		Run: func(ctx context.Context, sc *pipeline.StageContext) error {
			path := sc.Params.String("path")
			ps, err := pairs.ReadFile(ctx, path)
			if err != nil {
				return err
			}
			src := ps[0].Source
			sc.Log.Info("pairs read", "file", path, "pairs", len(ps))
			return pairs.Write(sc.OutDir, ps, datasets.Meta{Dataset: src, License: sc.Params.String("license"),
				Notes: []string{"pairs/file from " + filepath.Base(path)}})
		},
	}
}

func leakageStage() *pipeline.StageType {
	return &pipeline.StageType{
		Name:    "check/leakage",
		Version: "1",
		Doc: "Gate between training pairs and evaluation data: fails when evaluation queries or candidates " +
			"(after NFC, case folding and white-space normalization) occur in the pairs' q_text or p_text, as whole " +
			"texts or inside longer ones. Writes check.json (counts and the first overlaps); batches/plan takes it as a gate.",
		Params: []pipeline.Param{
			{Name: "min_chars", Type: pipeline.TypeInt, Default: leakage.DefaultMinChars, Doc: "evaluation texts shorter than this (characters, after normalization) are compared for equality only and never fail the check"},
			{Name: "max_overlap_fraction", Type: pipeline.TypeFloat, Default: leakage.DefaultMaxOverlapFraction, Doc: "fail when more than this fraction of an evaluation dataset's rows leak (0: any leak fails)"},
			{Name: "max_examples", Type: pipeline.TypeInt, Default: 20, Doc: "overlaps listed in check.json"},
		},
		Inputs: []pipeline.Input{
			{Kind: pipeline.KindPairs, Doc: "the training pairs"},
			{Kind: pipeline.KindDataset, Many: true, Doc: "the evaluation datasets"},
		},
		Output: pipeline.KindCheck,
		Run: func(ctx context.Context, sc *pipeline.StageContext) error {
			pin, err := sc.Input(pipeline.KindPairs)
			if err != nil {
				return err
			}
			ps, err := pairs.Read(pin.Dir)
			if err != nil {
				return err
			}
			var evals []*datasets.Dataset
			for _, in := range sc.InputsOf(pipeline.KindDataset) {
				d, err := datasets.Read(in.Dir)
				if err != nil {
					return err
				}
				evals = append(evals, d)
			}
			rep, err := leakage.Check(ctx, ps, evals, leakage.Options{
				MinChars: sc.Params.Int("min_chars"), MaxOverlapFraction: sc.Params.Float("max_overlap_fraction"), MaxExamples: sc.Params.Int("max_examples"),
			})
			if err != nil {
				return err
			}
			if err := leakage.WriteReport(sc.OutDir, rep); err != nil {
				return err
			}
			for _, e := range rep.Examples {
				sc.Log.Warn("evaluation text in training pairs", "dataset", e.Dataset, "id", e.ID, "pair", e.PairID, "field", e.Field, "text", e.Text)
			}
			if !rep.Pass {
				return fmt.Errorf("check/leakage failed: %s (set max_overlap_fraction or min_chars only if these overlaps are coincidental)", rep.Summary())
			}
			sc.Log.Info("leakage check passed", "summary", rep.Summary())
			return nil
		},
	}
}
