package train

import (
	"context"
	"fmt"
	"github.com/gomlx/gomlx/core/graph"
	"log/slog"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/lair-ir/lair/tables"
)

// Config are the training hyperparameters. DefaultConfig gives the
// paper's values for fine-tuning a pretrained encoder.
type Config struct {
	LR            float64 // peak learning rate (3e-5 fine-tuning; ~1e-3 from scratch)
	WeightDecay   float64 // AdamW decoupled weight decay, applied to matrices only (not biases / norms)
	Beta1, Beta2  float64
	Eps           float64
	Scale         float64 // cosine similarity multiplier (inverse temperature)
	WarmupFrac    float64 // linear warmup over this fraction of the steps, then linear decay to 0
	ClipNorm      float64 // global gradient-norm clipping (0 = off)
	MaxLength     int     // tokens per text, special tokens included
	HardNegatives bool    // add each pair's neg_text (when not empty) as an extra candidate
	QueryPrefix   string  // prepended to queries ("Query: ")
	PassagePrefix string  // prepended to passages and negatives ("Passage: ")

	MaxSteps   int     // stop after this many steps (0 = the whole plan)
	MaxMinutes float64 // stop after this much wall time (0 = no limit); makes runs non-reproducible

	EvalEvery   int // validation every N steps (0 = 10 times per run); also at the end
	Patience    int // early stopping: stop after this many validations without improvement (0 = never stop early)
	ValMaxPairs int // validation pairs used (0 = all)
	ValBatch    int // validation batch size (0 = the size of the first training batch)

	CheckpointDir   string // "" = no checkpoints
	CheckpointEvery int    // steps between checkpoints
	// CheckpointInterval, when > 0, is the least wall time between two
	// checkpoints: a step due for one (every CheckpointEvery steps, or the
	// end of the run) skips it when the last was written less than this
	// long ago. The run's weights do not depend on it (steps are
	// deterministic, and a resumed run replays from whichever checkpoint it
	// finds); it only bounds the disk traffic of fast steps (a checkpoint of
	// the 7.4 M-parameter tiny model is ~120 MB with its moments and best
	// weights) against the work a killed run loses. 0: every due step.
	CheckpointInterval time.Duration

	// DenseEmbeddings turns sparse embedding updates off: the tables of
	// Model.Sparse are then updated by dense AdamW like every other weight
	// (every row every step, moments of unused rows decaying). Slower; kept
	// to compare the two.
	DenseEmbeddings bool

	Log *slog.Logger
	// OnStep, when set, is called after every finished step (1-based k of
	// total), e.g. for progress reports.
	OnStep func(k, total int)
}

// DefaultConfig returns the defaults of the train/contrastive stage.
func DefaultConfig() Config {
	return Config{LR: 3e-5, WeightDecay: 0.01, Beta1: 0.9, Beta2: 0.999, Eps: 1e-6, Scale: 20, WarmupFrac: 0.1,
		ClipNorm: 1, MaxLength: 128, QueryPrefix: "Query: ", PassagePrefix: "Passage: ", Patience: 3, ValMaxPairs: 2000,
		CheckpointEvery: 50}
}

// Batch is one training batch: parallel slices of query texts, positive
// passages and (optional, "" when none) hard negatives.
type Batch struct {
	Queries, Passages, Negatives []string
}

// LogRow is one row of training_log.parquet. ValLoss is NaN on steps
// without validation.
type LogRow struct {
	Step       int64   `parquet:"step"`
	Epoch      int32   `parquet:"epoch"`
	Loss       float64 `parquet:"loss"`
	LR         float64 `parquet:"lr"`
	ValLoss    float64 `parquet:"val_loss"`
	PairsPerS  float64 `parquet:"pairs_per_s"`
	GradNorm   float64 `parquet:"grad_norm"`
	BatchPairs int32   `parquet:"batch_pairs"`
}

// Result summarises a finished run.
type Result struct {
	Steps       int     // steps trained (including those before a resume)
	BestStep    int     // step whose weights were kept (-1: the final weights)
	BestValLoss float64 // NaN without validation
	StoppedBy   string  // "plan", "max_steps", "max_minutes", "early_stopping"
	Resumed     int     // steps restored from a checkpoint (0 = fresh start)
	Log         []LogRow
}

// Trainer fine-tunes one model.
type Trainer struct {
	cfg     Config
	model   *Model
	backend compute.Backend
	opt     *optimizer
	step    map[int]*model.Exec // by number of inputs
	loss    map[int]*model.Exec
	embed   *model.Exec
	tokens  map[string][]int64
	// sparse is on when the model has tables in Model.Sparse and
	// DenseEmbeddings is off. local maps a token id to 1 + its row in the
	// current batch's rows (0: unused); uniq lists the batch's ids in order.
	sparse bool
	local  []int32
	uniq   []int64
	// hostGather (sparse, and no weight besides the tables: the static
	// model) gathers the embeddings of every token on the host and feeds
	// them to the graph, whose gradient with respect to them the host sums
	// into rows: the pure-Go backend's Gather and Scatter cost more than the
	// rest of such a step. groupLocal holds the local row ids per text
	// group of the current batch; rowGrad the summed gradient per table.
	hostGather bool
	groupLocal [][]int32
	groupMask  [][]int64 // the attention mask per text group (poolGrad)
	rowGrad    [][]float32
}

// NewTrainer prepares training of m under cfg.
func NewTrainer(m *Model, cfg Config, backend compute.Backend) (*Trainer, error) {
	if cfg.MaxLength < 4 {
		return nil, fmt.Errorf("train: max_length must be >= 4, have %d", cfg.MaxLength)
	}
	if cfg.LR <= 0 || cfg.Scale <= 0 {
		return nil, fmt.Errorf("train: lr and scale must be > 0 (have %g, %g)", cfg.LR, cfg.Scale)
	}
	t := &Trainer{cfg: cfg, model: m, backend: backend, step: map[int]*model.Exec{}, loss: map[int]*model.Exec{}, tokens: map[string][]int64{}}
	t.opt = newOptimizer(m)
	if len(m.Sparse) > 0 && !cfg.DenseEmbeddings {
		t.sparse = true
		rows := 0
		for _, tb := range m.Sparse {
			rows = max(rows, tb.Rows)
		}
		t.local = make([]int32, rows)
		t.hostGather = len(m.Sparse) == len(m.Trainable)
	}
	var err error
	t.embed, err = model.NewExec(backend, m.Store, t.embedGraph)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	return t, nil
}

// Model returns the model being trained.
func (t *Trainer) Model() *Model { return t.model }

// bucket rounds a length up to 16, 32, 64, 128, ... capped at max.
func bucket(n, max int) int {
	b := 16
	for b < n {
		b *= 2
	}
	if b > max {
		b = max
	}
	return b
}

// Tensorize tokenizes texts (with prefix) into ids and mask tensors
// [len(texts), L], L bucketed.
func (t *Trainer) Tensorize(prefix string, texts []string) (ids, mask *tensors.Tensor, err error) {
	idf, mf, L, err := t.tokenize(prefix, texts)
	if err != nil {
		return nil, nil, err
	}
	return tensors.FromFlatDataAndDimensions(idf, len(texts), L), tensors.FromFlatDataAndDimensions(mf, len(texts), L), nil
}

// tokenize returns the flat ids and mask [len(texts) x L] of texts, L
// bucketed. Token ids are cached per text: a text seen again (passages
// recur across epochs and batches) is not tokenised again.
func (t *Trainer) tokenize(prefix string, texts []string) (idf, mf []int64, L int, err error) {
	seqs := make([][]int64, len(texts))
	longest := 1
	for i, s := range texts {
		key := prefix + s
		ids, ok := t.tokens[key]
		if !ok {
			ids, err = t.model.Tokenizer.EncodeIDs(key)
			if err != nil {
				return nil, nil, 0, fmt.Errorf("train: tokenize %q: %w", truncate(key, 60), err)
			}
			if len(ids) > t.cfg.MaxLength {
				last := ids[len(ids)-1]
				ids = append(ids[:t.cfg.MaxLength-1:t.cfg.MaxLength-1], last) // keep the closing special token
			}
			if len(ids) == 0 {
				ids = []int64{t.model.PadID} // an empty text: one (masked-in) token
			}
			t.tokens[key] = ids
		}
		seqs[i] = ids
		longest = max(longest, len(ids))
	}
	L = bucket(longest, t.cfg.MaxLength)
	idf = make([]int64, len(texts)*L)
	mf = make([]int64, len(texts)*L)
	for i, s := range seqs {
		row, mrow := idf[i*L:(i+1)*L], mf[i*L:(i+1)*L]
		copy(row, s)
		for j := range s {
			mrow[j] = 1
		}
		for j := len(s); j < L; j++ {
			row[j] = t.model.PadID
		}
	}
	return idf, mf, L, nil
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "..."
}

// batchArgs returns the inputs of the loss graph for b: per text group
// (queries, passages, and hard negatives when enabled and present) ids and
// mask, plus, when training sparsely, the group's local row ids; then, when
// sparse, the batch's rows of every table (see gatherRows). t.uniq then
// holds the token ids of those rows.
func (t *Trainer) batchArgs(b Batch) ([]any, error) {
	if len(b.Queries) == 0 || len(b.Queries) != len(b.Passages) {
		return nil, fmt.Errorf("train: batch with %d queries and %d passages", len(b.Queries), len(b.Passages))
	}
	groups := [][]string{b.Queries, b.Passages}
	prefixes := []string{t.cfg.QueryPrefix, t.cfg.PassagePrefix}
	if t.cfg.HardNegatives {
		var negs []string
		for _, n := range b.Negatives {
			if n != "" {
				negs = append(negs, n)
			}
		}
		if len(negs) > 0 {
			groups, prefixes = append(groups, negs), append(prefixes, t.cfg.PassagePrefix)
		}
	}
	type tok struct {
		idf, mf []int64
		L       int
	}
	toks := make([]tok, len(groups))
	for i, texts := range groups {
		idf, mf, L, err := t.tokenize(prefixes[i], texts)
		if err != nil {
			return nil, err
		}
		toks[i] = tok{idf, mf, L}
	}
	var args []any
	if !t.sparse {
		for i, tk := range toks {
			args = append(args, tensors.FromFlatDataAndDimensions(tk.idf, len(groups[i]), tk.L), tensors.FromFlatDataAndDimensions(tk.mf, len(groups[i]), tk.L))
		}
		return args, nil
	}
	// The batch's distinct token ids, sorted, are its rows.
	t.uniq = t.uniq[:0]
	for _, tk := range toks {
		for _, id := range tk.idf {
			if id < 0 || id >= int64(len(t.local)) {
				return nil, fmt.Errorf("train: token id %d is outside the embedding table (%d rows): is tokenizer.json the model's own?", id, len(t.local))
			}
			if t.local[id] == 0 {
				t.local[id] = -1
				t.uniq = append(t.uniq, id)
			}
		}
	}
	slices.Sort(t.uniq)
	for j, id := range t.uniq {
		t.local[id] = int32(j)
	}
	t.groupLocal, t.groupMask = t.groupLocal[:0], t.groupMask[:0]
	for i, tk := range toks {
		t.groupMask = append(t.groupMask, tk.mf)
		loc := make([]int32, len(tk.idf))
		for j, id := range tk.idf {
			loc[j] = t.local[id]
		}
		t.groupLocal = append(t.groupLocal, loc)
		n := len(groups[i])
		args = append(args, tensors.FromFlatDataAndDimensions(tk.idf, n, tk.L), tensors.FromFlatDataAndDimensions(tk.mf, n, tk.L))
		if t.hostGather {
			for _, tb := range t.model.Sparse {
				args = append(args, t.gatherTokens(tb, tk.idf, n, tk.L))
			}
		} else {
			args = append(args, tensors.FromFlatDataAndDimensions(loc, n, tk.L))
		}
	}
	for _, id := range t.uniq {
		t.local[id] = 0
	}
	if !t.hostGather {
		for _, tb := range t.model.Sparse {
			args = append(args, t.gatherRows(tb))
		}
	}
	return args, nil
}

func (t *Trainer) exec(cache map[int]*model.Exec, n int, fn func(*model.Scope, []*graph.Node) []*graph.Node) (*model.Exec, error) {
	if e := cache[n]; e != nil {
		return e, nil
	}
	e, err := model.NewExec(t.backend, t.model.Store, fn)
	if err != nil {
		return nil, err
	}
	// One executable per input shape: 16/32/64/... lengths per text group
	// times the row buckets of sparse training.
	e.SetMaxCache(256)
	cache[n] = e
	return e, nil
}

// Step runs one optimisation step on b with learning rate lr at 1-based
// step number k (for Adam's bias correction). It returns the loss before the
// update and the gradient norm before clipping.
func (t *Trainer) Step(b Batch, lr float64, k int) (loss, gradNorm float64, err error) {
	args, err := t.batchArgs(b)
	if err != nil {
		return 0, 0, err
	}
	h := hyper{lr: float32(lr), bc1: float32(1 - math.Pow(t.cfg.Beta1, float64(k))), bc2: float32(1 - math.Pow(t.cfg.Beta2, float64(k)))}
	args = append(args, tensors.FromScalar(h.lr), tensors.FromScalar(h.bc1), tensors.FromScalar(h.bc2))
	e, err := t.exec(t.step, len(args), t.stepGraph)
	if err != nil {
		return 0, 0, fmt.Errorf("train: build step graph: %w", err)
	}
	out, err := e.Call(args...)
	if err != nil {
		return 0, 0, fmt.Errorf("train: step %d: %w", k, err)
	}
	loss = float64(tensors.ToScalar[float32](out[0]))
	norm := tensors.ToScalar[float32](out[1])
	gradNorm = float64(norm)
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return loss, gradNorm, fmt.Errorf("train: step %d: loss is %v (lower lr, or check the data)", k, loss)
	}
	if t.sparse {
		grads, n, err := t.sparseGrads(out[2:])
		if err != nil {
			return loss, gradNorm, fmt.Errorf("train: step %d: %w", k, err)
		}
		if t.hostGather {
			norm, gradNorm = n, float64(n)
		}
		for i, tb := range t.model.Sparse {
			t.sparseAdamW(tb, grads[i], norm, h)
		}
	}
	return loss, gradNorm, nil
}

// Loss returns the loss of b without changing any weight.
func (t *Trainer) Loss(b Batch) (float64, error) {
	args, err := t.batchArgs(b)
	if err != nil {
		return 0, err
	}
	e, err := t.exec(t.loss, len(args), func(s *model.Scope, in []*graph.Node) []*graph.Node { return []*graph.Node{t.lossGraph(s, in)} })
	if err != nil {
		return 0, fmt.Errorf("train: build loss graph: %w", err)
	}
	out, err := e.Call(args...)
	if err != nil {
		return 0, fmt.Errorf("train: loss: %w", err)
	}
	return float64(tensors.ToScalar[float32](out[0])), nil
}

// Embed returns the pooled, L2-normalised embeddings of texts (no prefix is
// added), row-major [len(texts)][hidden].
func (t *Trainer) Embed(texts []string) ([][]float32, error) {
	ids, mask, err := t.Tensorize("", texts)
	if err != nil {
		return nil, err
	}
	out, err := t.embed.Call(ids, mask)
	if err != nil {
		return nil, fmt.Errorf("train: embed: %w", err)
	}
	flat := tensors.MustCopyFlatData[float32](out[0])
	d := out[0].Shape().Dim(1)
	res := make([][]float32, len(texts))
	for i := range res {
		res[i] = flat[i*d : (i+1)*d]
	}
	return res, nil
}

// ValidationBatches groups validation pairs into batches of size n with no
// group twice in a batch, using at most maxPairs pairs (0 = all). Pairs are
// taken round-robin over groups (sorted by group_id, then pair_id), so a
// capped set still spans many groups and every batch is full of distinct
// questions.
func ValidationBatches(pairs []tables.Pair, n, maxPairs int) []Batch {
	byGroup := map[string][]tables.Pair{}
	var groups []string
	for _, p := range pairs {
		if _, ok := byGroup[p.GroupID]; !ok {
			groups = append(groups, p.GroupID)
		}
		byGroup[p.GroupID] = append(byGroup[p.GroupID], p)
	}
	sort.Strings(groups)
	for _, g := range groups {
		ps := byGroup[g]
		sort.Slice(ps, func(a, b int) bool { return ps[a].PairID < ps[b].PairID })
	}
	var ps []tables.Pair
	for round := 0; ; round++ {
		added := false
		for _, g := range groups {
			if round < len(byGroup[g]) {
				ps = append(ps, byGroup[g][round])
				added = true
			}
		}
		if !added {
			break
		}
	}
	if maxPairs > 0 && len(ps) > maxPairs {
		ps = ps[:maxPairs]
	}
	var out []Batch
	for len(ps) > 0 {
		groups := map[string]bool{}
		var b Batch
		var rest []tables.Pair
		for _, p := range ps {
			if len(b.Queries) < n && !groups[p.GroupID] {
				groups[p.GroupID] = true
				b.Queries, b.Passages, b.Negatives = append(b.Queries, p.QText), append(b.Passages, p.PText), append(b.Negatives, p.NegText)
			} else {
				rest = append(rest, p)
			}
		}
		if len(b.Queries) < 2 {
			break // a single pair has no negatives: its loss is always 0
		}
		out = append(out, b)
		ps = rest
	}
	return out
}

// ValLoss is the pair-weighted mean loss over the validation batches.
func (t *Trainer) ValLoss(ctx context.Context, val []Batch) (float64, error) {
	var sum, n float64
	for _, b := range val {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		l, err := t.Loss(b)
		if err != nil {
			return 0, err
		}
		sum += l * float64(len(b.Queries))
		n += float64(len(b.Queries))
	}
	if n == 0 {
		return math.NaN(), nil
	}
	return sum / n, nil
}

// LR returns the learning rate at 0-based step k of total: linear warmup
// over the first warmupFrac of the steps, then linear decay to 0.
func LR(peak, warmupFrac float64, k, total int) float64 {
	warm := int(math.Ceil(warmupFrac * float64(total)))
	if k < warm {
		return peak * float64(k+1) / float64(warm)
	}
	if total <= warm {
		return peak
	}
	return peak * math.Max(0, float64(total-k)/float64(total-warm))
}
