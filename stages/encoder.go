package stages

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strings"

	"github.com/lair-ir/lair/datasets"
	"github.com/lair-ir/lair/encoder/encode"
	"github.com/lair-ir/lair/encoder/model"
	"github.com/lair-ir/lair/encoder/modelgen"
	"github.com/lair-ir/lair/internal/cachedir"
	"github.com/lair-ir/lair/internal/fetch"
	"github.com/lair-ir/lair/pipeline"
	"github.com/lair-ir/lair/tables"
)

// registerEncoder registers encode, model/generate and model/load.
func registerEncoder(r *pipeline.Registry) {
	r.Register(encodeStage())
	r.Register(modelGenerateStage())
	r.Register(modelLoadStage())
}

func encodeStage() *pipeline.StageType {
	return &pipeline.StageType{
		Name:    "encode",
		Version: "1",
		Doc: "Encode a dataset's queries (role query) and candidates (role passage) with an ONNX encoder through ONNX Runtime " +
			"(or, backend gomlx, through onnx-gomlx on GoMLX's CPU or XLA CUDA backend). " +
			"Texts are tokenized on all cores while the model runs, batched by token length, pooled and normalised; " +
			"vectors are cached under the cache directory by model hash, role, prefix, max length, pooling and text, " +
			"so no text is encoded twice. Queries, then candidates (read in chunks), are encoded and written to embeddings.arrow " +
			"a chunk at a time, so memory does not grow with the number of candidates.",
		Params: []pipeline.Param{
			{Name: "query_prefix", Type: pipeline.TypeString, Default: "Query: ", Doc: "prepended to every query"},
			{Name: "passage_prefix", Type: pipeline.TypeString, Default: "Passage: ", Doc: "prepended to every candidate"},
			{Name: "pooling", Type: pipeline.TypeString, Default: encode.PoolMean, Enum: []string{encode.PoolMean, encode.PoolCLS},
				Doc: "mean: average of the token embeddings under the attention mask; cls: the first token"},
			{Name: "normalize", Type: pipeline.TypeBool, Default: true, Doc: "L2-normalise the vectors"},
			{Name: "max_length", Type: pipeline.TypeInt, Default: 128, Doc: "tokens per text, special tokens included (longer texts are truncated)"},
			{Name: "batch_size", Type: pipeline.TypeInt, Default: 32, Doc: "texts per model call"},
			{Name: "backend", Type: pipeline.TypeString, Default: encode.BackendORT, Enum: []string{encode.BackendORT, encode.BackendGoMLX},
				Doc: "ort: ONNX Runtime; gomlx: the same ONNX graph through onnx-gomlx on GoMLX (pure Go on cpu, XLA with a PJRT CUDA plugin on cuda), within 1e-4 of ort"},
			{Name: "device", Type: pipeline.TypeString, Default: "cpu", Enum: []string{"cpu", "cuda"},
				Doc: "cuda: with backend ort, LAIR_ORT_LIB must point at a GPU build of ONNX Runtime 1.20-1.30; with backend gomlx, " +
					"a PJRT CUDA plugin ($LAIR_PJRT_PLUGIN or JAX's; see `lair doctor`)"},
			{Name: "threads", Type: pipeline.TypeInt, Default: 0, Doc: "ONNX Runtime intra-op threads (0: the run's thread setting)"},
			{Name: "chunk", Type: pipeline.TypeInt, Default: encodeChunk, Doc: "texts encoded (and held in memory) at a time"},
		},
		Inputs: []pipeline.Input{
			{Kind: pipeline.KindModel, Doc: "the encoder (Hugging Face layout)"},
			{Kind: pipeline.KindDataset, Doc: "queries.parquet and candidates.parquet to encode"},
		},
		Output: pipeline.KindEmbeddings,
		Device: "gpu-optional",
		Run:    runEncode,
	}
}

// openEncoder opens the model in modelDir and an encoder over it with the
// stage's encode parameters (pooling, normalize, max_length, batch_size,
// threads, device, backend) and the run's embedding cache.
func openEncoder(sc *pipeline.StageContext, modelDir string) (*model.Model, *encode.Encoder, error) {
	m, err := model.Open(modelDir)
	if err != nil {
		return nil, nil, fmt.Errorf("stage %s: %w", sc.Name, err)
	}
	p := sc.Params
	threads := p.Int("threads")
	if threads <= 0 {
		threads = sc.Env.Threads
	}
	opt := encode.Options{Pooling: p.String("pooling"), Normalize: p.Bool("normalize"), MaxLength: p.Int("max_length"),
		BatchSize: p.Int("batch_size"), Threads: threads, Device: p.String("device"), Backend: p.String("backend"),
		GoMLXConfig: sc.Env.Backend, Log: sc.Log}
	if sc.Env.CacheDir != "" {
		opt.CacheDir = filepath.Join(sc.Env.CacheDir, "embeddings")
	}
	enc, err := encode.New(m, opt)
	if err != nil {
		return nil, nil, fmt.Errorf("stage %s: %w", sc.Name, err)
	}
	return m, enc, nil
}

func runEncode(ctx context.Context, sc *pipeline.StageContext) error {
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
	nc, err := datasets.CountCandidates(din.Dir)
	if err != nil {
		return fmt.Errorf("stage %s: %w", sc.Name, err)
	}
	m, enc, err := openEncoder(sc, modelIn.Dir)
	if err != nil {
		return err
	}
	defer enc.Close()
	p := sc.Params

	progress := sc.Progress
	if progress == nil {
		progress = pipeline.NopProgress{}
	}
	progress.Start("texts", int64(len(queries))+nc)
	add := func(n int) { progress.Add(int64(n)) }

	// Queries, then candidates (read from candidates.parquet in chunks), are
	// encoded and written a chunk at a time: besides the queries' rows,
	// memory is bounded by a chunk whatever the number of candidates.
	var (
		w          *tables.EmbeddingsWriter
		dim        int
		degenerate []string
		qst, cst   encode.Stats
		roles      []string
	)
	write := func(role, prefix string, st *encode.Stats, ids, langs, texts []string) error {
		if len(texts) == 0 {
			return nil
		}
		vecs, d, s, err := enc.Encode(ctx, role, prefix, texts, add)
		if err != nil {
			return fmt.Errorf("%ss: %w", role, err)
		}
		addStats(st, s)
		if w == nil {
			dim = d
			if w, err = tables.CreateLicensedEmbeddingsArtifact(sc.OutDir, d, m.Hash, datasets.License(din.Dir)); err != nil {
				return err
			}
		} else if d != dim {
			return fmt.Errorf("query vectors have %d dimensions, candidate vectors %d", dim, d)
		}
		roles = roles[:0]
		for range ids {
			roles = append(roles, role)
		}
		e := &tables.Embeddings{IDs: ids, Roles: roles, Langs: langs, Dim: d, Vectors: vecs}
		degenerate = append(degenerate, zeroDegenerate(e)...)
		return w.Write(ids, roles, langs, vecs)
	}
	chunk := max(1, p.Int("chunk"))
	var ids, langs, texts []string
	for lo := 0; lo < len(queries) && err == nil; lo += chunk {
		ids, langs, texts = ids[:0], langs[:0], texts[:0]
		for _, q := range queries[lo:min(lo+chunk, len(queries))] {
			ids, langs, texts = append(ids, q.QID), append(langs, q.Lang), append(texts, q.Text)
		}
		err = write(tables.RoleQuery, p.String("query_prefix"), &qst, ids, langs, texts)
	}
	queries = nil
	if err == nil {
		err = datasets.ReadCandidateBatches(din.Dir, chunk, func(cs []tables.Candidate) error {
			ids, langs, texts = ids[:0], langs[:0], texts[:0]
			for _, c := range cs {
				ids, langs, texts = append(ids, c.CID), append(langs, c.Lang), append(texts, c.Text)
			}
			return write(tables.RolePassage, p.String("passage_prefix"), &cst, ids, langs, texts)
		})
	}
	if w == nil && err == nil {
		return fmt.Errorf("stage %s: nothing to encode: the dataset in %s has no queries and no candidates", sc.Name, din.Dir)
	}
	if w != nil {
		if cerr := w.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("stage %s: %w", sc.Name, err)
	}
	if len(degenerate) > 0 {
		// Retrieval scores these lowest (eval.DenseScorer); the run goes on.
		sc.Log.Warn("degenerate embeddings (zero, or non-finite and written as zero)", "count", len(degenerate),
			"first", strings.Join(degenerate[:min(20, len(degenerate))], "; "))
	}
	for _, s := range []struct {
		role string
		st   encode.Stats
	}{{"query", qst}, {"passage", cst}} {
		sc.Log.Info("encoded", "role", s.role, "texts", s.st.Texts, "unique", s.st.Unique, "cached", s.st.Cached,
			"encoded", s.st.Encoded, "tokens", s.st.Tokens, "padded", s.st.Padded, "model_s", s.st.Model.Seconds(), "wall_s", s.st.Wall.Seconds())
	}
	return tables.WriteEncodeStats(sc.OutDir, map[string]any{"model_key": m.Hash, "dim": dim, "queries": qst, "passages": cst,
		"degenerate": degenerate})
}

// addStats adds the counts and times of one chunk's encoding to st
// (Unique counts distinct texts per chunk; a text repeated in a later
// chunk is found in the embedding cache, when there is one).
func addStats(st *encode.Stats, s encode.Stats) {
	st.Texts += s.Texts
	st.Unique += s.Unique
	st.Cached += s.Cached
	st.Encoded += s.Encoded
	st.Batches += s.Batches
	st.Tokens += s.Tokens
	st.Padded += s.Padded
	st.Tokenize += s.Tokenize
	st.Model += s.Model
	st.Wall += s.Wall
}

func modelGenerateStage() *pipeline.StageType {
	return &pipeline.StageType{
		Name:    "model/generate",
		Version: "1",
		Doc: "Generate an encoder with seeded random weights in Hugging Face layout (model.onnx, config.json, tokenizer.json): " +
			"bert (BERT-shaped), xlmr (XLM-R-shaped) or static (token embeddings, pooled by lair). The WordPiece vocabulary " +
			"comes from the optional dataset's texts, else from built-in multilingual character ranges. For tests, " +
			"benchmarks and pipelines on machines without pretrained weights (`lair model new` writes the same from the command line).",
		Params: []pipeline.Param{
			{Name: "arch", Type: pipeline.TypeString, Default: modelgen.ArchBERT, Enum: modelgen.Architectures, Doc: "architecture"},
			{Name: "layers", Type: pipeline.TypeInt, Default: 2, Doc: "transformer layers"},
			{Name: "hidden", Type: pipeline.TypeInt, Default: 128, Doc: "hidden width"},
			{Name: "heads", Type: pipeline.TypeInt, Default: 2, Doc: "attention heads"},
			{Name: "intermediate", Type: pipeline.TypeInt, Default: 0, Doc: "feed-forward width (0: 4*hidden)"},
			{Name: "max_positions", Type: pipeline.TypeInt, Default: 512, Doc: "longest input in tokens"},
			{Name: "vocab_size", Type: pipeline.TypeInt, Default: 0, Doc: "cap (or pad) the vocabulary to this size (0: as built)"},
			{Name: "seed", Type: pipeline.TypeInt, Default: 1, Doc: "weight seed"},
		},
		Inputs: []pipeline.Input{{Kind: pipeline.KindDataset, Optional: true,
			Doc: "build the vocabulary from this dataset's query and candidate texts"}},
		Output: pipeline.KindModel,
		Run:    runModelGenerate,
	}
}

func runModelGenerate(ctx context.Context, sc *pipeline.StageContext) error {
	p := sc.Params
	c := modelgen.Config{Arch: p.String("arch"), Layers: p.Int("layers"), Hidden: p.Int("hidden"), Heads: p.Int("heads"),
		Intermediate: p.Int("intermediate"), MaxPositions: p.Int("max_positions"), VocabSize: p.Int("vocab_size"),
		Seed: uint64(p.Int("seed"))}
	for _, in := range sc.InputsOf(pipeline.KindDataset) {
		qs, err := datasets.ReadQueries(in.Dir)
		if err != nil {
			return fmt.Errorf("stage %s: %w", sc.Name, err)
		}
		cs, err := datasets.ReadCandidates(in.Dir)
		if err != nil {
			return fmt.Errorf("stage %s: %w", sc.Name, err)
		}
		for _, q := range qs {
			c.Corpus = append(c.Corpus, q.Text)
		}
		for _, x := range cs {
			c.Corpus = append(c.Corpus, x.Text)
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := modelgen.Generate(sc.OutDir, c); err != nil {
		return fmt.Errorf("stage %s: %w", sc.Name, err)
	}
	if _, err := model.Open(sc.OutDir); err != nil {
		return fmt.Errorf("stage %s: generated model does not open: %w", sc.Name, err)
	}
	return nil
}

func modelLoadStage() *pipeline.StageType {
	return &pipeline.StageType{
		Name:    "model/load",
		Version: "1",
		Doc: "Bring an existing encoder into the run: a local folder in Hugging Face layout (tokenizer.json, config.json, " +
			"model.onnx or onnx/model.onnx) or hf://org/name[@revision] from $HF_ENDPOINT (default https://huggingface.co; " +
			"HF_TOKEN for private models), downloaded into the cache with resume and sha256 checks. The model is checked " +
			"(inputs, output, vocabulary, config.json against the graph) and run once in ONNX Runtime before it is published; " +
			"the files are copied, never linked. A local folder is keyed on its files' content (editing it gives a new key); " +
			"an hf:// model on the reference string: pin a commit for reproducible runs.",
		Params: []pipeline.Param{
			{Name: "model", Type: pipeline.TypeString, Required: true, Doc: "a folder or hf://org/name[@revision]"},
		},
		Output:    pipeline.KindModel,
		KeyParams: modelLoadKey,
		Run:       runModelLoad,
	}
}

// modelLoadKey keys a local model folder on its files' content, not its
// path; an hf:// reference is keyed on its string (and checked here, so a
// bad one fails the plan).
func modelLoadKey(p pipeline.Params) (pipeline.Params, error) {
	ref, _ := p["model"].(string)
	if _, isRef, err := model.ParseRef(ref); isRef || err != nil {
		return p, err
	}
	sum, err := model.ContentHash(ref)
	if err != nil {
		return nil, err
	}
	kp := pipeline.Params{}
	for k, v := range p {
		kp[k] = v
	}
	kp["model"] = "local-content-sha256:" + sum
	return kp, nil
}

func runModelLoad(ctx context.Context, sc *pipeline.StageContext) error {
	ref := sc.Params.String("model")
	if ref == "" {
		return fmt.Errorf("stage %s: parameter model is empty: give a folder or hf://org/name[@revision]", sc.Name)
	}
	cache, err := cachedir.Dir(sc.Env.CacheDir)
	if err != nil {
		return fmt.Errorf("stage %s: %w", sc.Name, err)
	}
	hub := model.NewHub(cache, sc.Log)
	if sc.Progress != nil {
		sc.Progress.Start("download", 0)
		hub.Download = &fetch.Client{Progress: sc.Progress, Log: sc.Log}
	}
	dir, err := hub.Resolve(ctx, ref)
	if err != nil {
		return fmt.Errorf("stage %s: %w", sc.Name, err)
	}
	m, err := model.Open(dir)
	if err != nil {
		return fmt.Errorf("stage %s: %w", sc.Name, err)
	}
	if err := m.CheckRuntime(""); err != nil {
		return fmt.Errorf("stage %s: %w", sc.Name, err)
	}
	if err := m.CopyTo(sc.OutDir); err != nil {
		return fmt.Errorf("stage %s: %w", sc.Name, err)
	}
	// Nothing machine-specific (paths) goes into the artifact: a local
	// folder is keyed on its content, so the same artifact serves every path.
	source := ref
	if _, isRef, _ := model.ParseRef(ref); !isRef {
		source = "local folder"
	}
	return model.WriteSource(sc.OutDir, source, m.Hash)
}

// zeroDegenerate finds the vectors of e that are all zero or hold a NaN or
// infinite value, sets the latter to zero (so the embeddings file stays
// finite and retrieval ranks them last), and returns "role id: reason" for
// each.
func zeroDegenerate(e *tables.Embeddings) []string {
	var out []string
	for i := range e.IDs {
		v := e.Vector(i)
		zero, finite := true, true
		for _, x := range v {
			zero = zero && x == 0
			finite = finite && !math.IsNaN(float64(x)) && !math.IsInf(float64(x), 0)
		}
		switch {
		case !finite:
			clear(v)
			out = append(out, e.Roles[i]+" "+e.IDs[i]+": non-finite")
		case zero:
			out = append(out, e.Roles[i]+" "+e.IDs[i]+": zero")
		}
	}
	return out
}
