package encode

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"sync"
	"time"

	"github.com/lair-ir/lair/encoder/backend"
	"github.com/lair-ir/lair/encoder/model"
	"github.com/lair-ir/lair/encoder/ort"
	"github.com/lair-ir/lair/encoder/tokenizer"
)

// Pooling methods.
const (
	PoolMean = "mean" // mean of the token embeddings under the attention mask
	PoolCLS  = "cls"  // the first token's embedding
)

// Options configure an Encoder.
type Options struct {
	Pooling   string // PoolMean (default) or PoolCLS
	Normalize bool   // L2-normalise each vector
	MaxLength int    // tokens per text, special tokens included (default 128)
	BatchSize int    // texts per ONNX Runtime call (default 32)
	Threads   int    // ONNX Runtime intra-op threads (0: all cores)
	Device    string // "cpu" (default) or "cuda"
	// Backend is BackendORT (default) or BackendGoMLX: the same graph
	// through onnx-gomlx on GoMLX's pure-Go backend (cpu) or XLA (cuda).
	Backend string
	// Plugin is an explicit PJRT plugin for BackendGoMLX on cuda ("" =
	// $LAIR_PJRT_PLUGIN and the usual places; see package backend).
	Plugin string
	// GoMLXConfig is the GoMLX backend configuration for BackendGoMLX on
	// device cpu (GOMLX_BACKEND syntax; "" = $GOMLX_BACKEND, else
	// backend.DefaultGo).
	GoMLXConfig string
	Lib         string // ONNX Runtime library ("" = ort.DefaultLibraryPath)
	// CacheDir is the root of the embedding cache (Env.CacheDir/embeddings);
	// "" disables caching.
	CacheDir string
	Log      *slog.Logger
}

func (o *Options) defaults() {
	if o.Pooling == "" {
		o.Pooling = PoolMean
	}
	if o.MaxLength <= 0 {
		o.MaxLength = 128
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 32
	}
	if o.Backend == "" {
		o.Backend = BackendORT
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
}

// Encoder turns texts into vectors with one model. It holds one ONNX
// Runtime session (or one GoMLX graph executor), reused for every batch.
// Encode is not safe for concurrent use.
type Encoder struct {
	m    *model.Model
	tok  *tokenizer.Tokenizer
	run1 runner       // runs one batch
	sess *ort.Session // the ONNX Runtime session (nil with BackendGoMLX)
	opt  Options
	dim  int
}

// New loads m for encoding.
func New(m *model.Model, opt Options) (*Encoder, error) {
	opt.defaults()
	if opt.Pooling != PoolMean && opt.Pooling != PoolCLS {
		return nil, fmt.Errorf("encode: pooling %q: want mean or cls", opt.Pooling)
	}
	if m.MaxLength > 0 && opt.MaxLength > m.MaxLength {
		return nil, fmt.Errorf("encode: max_length %d exceeds the %d positions of model %s (config.json max_position_embeddings)", opt.MaxLength, m.MaxLength, m.Dir)
	}
	// The device is checked before anything is loaded.
	var choice backend.Choice
	switch opt.Backend {
	case BackendORT:
	case BackendGoMLX:
		var err error
		if choice, err = backend.Resolve(backend.Options{Device: opt.Device, Plugin: opt.Plugin, Config: opt.GoMLXConfig}); err != nil {
			return nil, fmt.Errorf("encode: backend gomlx: %w", err)
		}
	default:
		return nil, fmt.Errorf("encode: backend %q: want %s or %s", opt.Backend, BackendORT, BackendGoMLX)
	}
	tok, err := tokenizer.FromFile(m.TokenizerPath)
	if err != nil {
		return nil, err
	}
	tok.SetTruncation(opt.MaxLength)
	tok.SetPadding(nil)
	e := &Encoder{m: m, tok: tok, opt: opt}
	if opt.Backend == BackendGoMLX {
		if e.run1, err = newGoMLXRunner(m.ONNXPath, choice, opt.BatchSize, opt.MaxLength, m.PadID); err != nil {
			return nil, err
		}
		opt.Log.Info("encode backend", "backend", BackendGoMLX, "device", choice.Device, "gomlx", choice.String())
	} else {
		if e.sess, err = ort.NewSession(m.ONNXPath, ort.Options{Lib: opt.Lib, Threads: opt.Threads, Device: opt.Device}); err != nil {
			return nil, err
		}
		e.run1 = e.sess
	}
	e.dim = int(e.run1.Hidden())
	if e.dim <= 0 {
		e.dim = m.Config.HiddenSize
	}
	return e, nil
}

// Close releases the ONNX Runtime session or the GoMLX executor.
func (e *Encoder) Close() error { return e.run1.Close() }

// Dim returns the embedding dimension (0 when the graph leaves it
// symbolic and config.json has no hidden_size, until the first batch ran).
func (e *Encoder) Dim() int { return e.dim }

// Settings returns the cache settings of texts encoded with role and prefix.
func (e *Encoder) Settings(role, prefix string) Settings {
	return Settings{ModelHash: e.m.Hash, Role: role, Prefix: prefix, MaxLength: e.opt.MaxLength,
		Pooling: e.opt.Pooling, Normalize: e.opt.Normalize}
}

// Stats describe one Encode call.
type Stats struct {
	Texts   int // texts asked for
	Unique  int // distinct texts among them
	Cached  int // distinct texts found in the cache
	Encoded int // distinct texts run through the model
	Batches int
	Tokens  int64 // real tokens fed to the model
	Padded  int64 // token slots fed (tokens + padding)
	// Tokenize is the time spent tokenizing (overlapping Model); Model the
	// time spent in ONNX Runtime calls; Wall the whole call.
	Tokenize, Model, Wall time.Duration
}

// batch is a group of distinct texts of similar token length.
type batch struct {
	rows []int // indices into the distinct texts
	encs []tokenizer.Encoding
}

// Encode returns one vector per text (row-major, len(texts)*dim values).
// Each text is prefixed with prefix before tokenization. progress, when not
// nil, is called with the number of texts finished since its last call
// (cache hits and duplicates count as finished).
func (e *Encoder) Encode(ctx context.Context, role, prefix string, texts []string, progress func(n int)) ([]float32, int, Stats, error) {
	start := time.Now()
	st := Stats{Texts: len(texts)}
	if progress == nil {
		progress = func(int) {}
	}
	// Distinct texts, by key.
	keys := make([]TextKey, len(texts))
	slot := map[TextKey]int{}
	var uniq []int // index of the first occurrence of each distinct text
	for i, t := range texts {
		k := KeyOf(t)
		keys[i] = k
		if _, ok := slot[k]; !ok {
			slot[k] = len(uniq)
			uniq = append(uniq, i)
		}
	}
	st.Unique = len(uniq)

	var cache *Cache
	cached := map[TextKey][]float32{}
	if e.opt.CacheDir != "" {
		var err error
		if cache, err = OpenCache(e.opt.CacheDir, e.Settings(role, prefix), e.opt.Log); err != nil {
			return nil, 0, st, err
		}
		var dim int
		if cached, dim, err = cache.Load(); err != nil {
			return nil, 0, st, err
		}
		if dim != 0 && e.dim != 0 && dim != e.dim {
			e.opt.Log.Warn("embedding cache: dimension differs from the model's; ignoring the cache", "dir", cache.Dir(), "cache_dim", dim, "model_dim", e.dim)
			cached = map[TextKey][]float32{}
		} else if dim != 0 && e.dim == 0 {
			e.dim = dim
		}
	}
	var todo []int // indices into uniq
	for u, i := range uniq {
		if _, ok := cached[keys[i]]; !ok {
			todo = append(todo, u)
		}
	}
	st.Cached = len(uniq) - len(todo)
	st.Encoded = len(todo)
	progress(len(texts) - len(todo))

	newVecs, err := e.run(ctx, prefix, texts, uniq, todo, &st, progress)
	if err != nil {
		return nil, 0, st, err
	}
	if cache != nil && len(todo) > 0 {
		ks := make([]TextKey, len(todo))
		for j, u := range todo {
			ks[j] = keys[uniq[u]]
		}
		if err := cache.Add(ks, newVecs, e.dim); err != nil {
			return nil, 0, st, err
		}
	}
	// Assemble in input order.
	fresh := make(map[int]int, len(todo)) // uniq index -> row of newVecs
	for j, u := range todo {
		fresh[u] = j
	}
	dim := e.dim
	out := make([]float32, len(texts)*dim)
	for i := range texts {
		u := slot[keys[i]]
		var v []float32
		if j, ok := fresh[u]; ok {
			v = newVecs[j*dim : (j+1)*dim]
		} else {
			v = cached[keys[i]]
		}
		copy(out[i*dim:(i+1)*dim], v)
	}
	st.Wall = time.Since(start)
	return out, dim, st, nil
}

// run encodes the distinct texts todo (indices into uniq) and returns their
// vectors in the order of todo. Tokenization runs in a producer goroutine a
// few chunks ahead of the ONNX Runtime calls, which run here.
func (e *Encoder) run(ctx context.Context, prefix string, texts []string, uniq, todo []int, st *Stats, progress func(int)) ([]float32, error) {
	if len(todo) == 0 {
		return nil, nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Order by byte length so chunks hold texts of similar length.
	order := append([]int(nil), todo...)
	sort.SliceStable(order, func(a, b int) bool { return len(texts[uniq[order[a]]]) > len(texts[uniq[order[b]]]) })
	pos := make(map[int]int, len(todo)) // uniq index -> row of the result
	for j, u := range todo {
		pos[u] = j
	}

	bs := e.opt.BatchSize
	batches := make(chan batch, 2*max(bs*16, 512)/bs+1)
	var prodErr error
	var tokTime time.Duration
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(batches)
		strs := make([]string, len(order))
		for i, u := range order {
			strs[i] = prefix + texts[uniq[u]]
		}
		tokTime, prodErr = e.plan(ctx, strs, func(rows []int, encs []tokenizer.Encoding) bool {
			bt := batch{rows: make([]int, len(rows)), encs: encs}
			for i, r := range rows {
				bt.rows[i] = order[r]
			}
			select {
			case batches <- bt:
				return true
			case <-ctx.Done():
				return false
			}
		})
		if prodErr != nil {
			cancel()
		}
	}()

	var out []float32
	if e.dim > 0 {
		out = make([]float32, len(todo)*e.dim)
	}
	var ids, mask, types []int64
	var runErr error
	for bt := range batches {
		if runErr != nil {
			continue // drain
		}
		rows, L := len(bt.encs), 0
		for _, enc := range bt.encs {
			L = max(L, len(enc.IDs))
		}
		n := rows * L
		ids, mask, types = grow(ids, n), grow(mask, n), grow(types, n)
		for r, enc := range bt.encs {
			row := ids[r*L : (r+1)*L]
			copy(row, enc.IDs)
			for j := len(enc.IDs); j < L; j++ {
				row[j] = e.m.PadID
			}
			mrow := mask[r*L : (r+1)*L]
			for j := range mrow {
				mrow[j] = 0
				if j < len(enc.IDs) {
					mrow[j] = 1
				}
			}
			trow := types[r*L : (r+1)*L]
			clear(trow)
			copy(trow, enc.TypeIDs)
			st.Tokens += int64(len(enc.IDs))
		}
		st.Padded += int64(n)
		st.Batches++
		t0 := time.Now()
		err := e.run1.Run(ort.Batch{Rows: rows, Len: L, IDs: ids, Mask: mask, TypeIDs: types}, func(h []float32, width int) error {
			if e.dim == 0 {
				e.dim = width
			}
			if width != e.dim {
				return fmt.Errorf("encode: model output width %d, expected %d", width, e.dim)
			}
			if out == nil {
				out = make([]float32, len(todo)*e.dim)
			}
			for r := range rows {
				dst := out[pos[bt.rows[r]]*width : (pos[bt.rows[r]]+1)*width]
				pool(dst, h[r*L*width:(r+1)*L*width], mask[r*L:(r+1)*L], width, e.opt.Pooling)
				if e.opt.Normalize {
					normalize(dst)
				}
			}
			return nil
		})
		st.Model += time.Since(t0)
		if err != nil {
			runErr = err
			cancel()
			continue
		}
		progress(rows)
	}
	wg.Wait()
	st.Tokenize = tokTime
	if runErr != nil {
		return nil, runErr
	}
	if prodErr != nil {
		return nil, prodErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 && len(todo) > 0 {
		return nil, errors.New("encode: the model produced no output")
	}
	// Duplicates of a text share its row; texts not in todo are filled by the caller.
	return out, nil
}

// plan tokenizes texts (already ordered by length) chunk by chunk and
// emits batches of similar token length: rows are indices into texts. It
// stops early when emit returns false and returns the time spent
// tokenizing.
func (e *Encoder) plan(ctx context.Context, texts []string, emit func(rows []int, encs []tokenizer.Encoding) bool) (time.Duration, error) {
	bs := e.opt.BatchSize
	chunk := max(bs*16, 512)
	var tokTime time.Duration
	for c := 0; c < len(texts); c += chunk {
		part := texts[c:min(c+chunk, len(texts))]
		t0 := time.Now()
		encs, err := e.tok.EncodeBatch(ctx, part, true)
		tokTime += time.Since(t0)
		if err != nil {
			return tokTime, fmt.Errorf("encode: tokenize: %w", err)
		}
		idx := make([]int, len(part))
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(a, b int) bool { return len(encs[idx[a]].IDs) > len(encs[idx[b]].IDs) })
		for b := 0; b < len(idx); b += bs {
			sel := idx[b:min(b+bs, len(idx))]
			rows := make([]int, len(sel))
			be := make([]tokenizer.Encoding, len(sel))
			for i, j := range sel {
				rows[i], be[i] = c+j, encs[j]
			}
			if !emit(rows, be) {
				return tokTime, ctx.Err()
			}
		}
	}
	return tokTime, nil
}

// Batches returns the padded batches Encode would feed ONNX Runtime for
// texts (prefix prepended, no cache, no deduplication), for benchmarks that
// time the model alone on exactly lair's batches.
func (e *Encoder) Batches(ctx context.Context, prefix string, texts []string) ([]ort.Batch, error) {
	order := make([]int, len(texts))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return len(texts[order[a]]) > len(texts[order[b]]) })
	strs := make([]string, len(texts))
	for i, o := range order {
		strs[i] = prefix + texts[o]
	}
	var out []ort.Batch
	_, err := e.plan(ctx, strs, func(_ []int, encs []tokenizer.Encoding) bool {
		L := 0
		for _, enc := range encs {
			L = max(L, len(enc.IDs))
		}
		n := len(encs) * L
		b := ort.Batch{Rows: len(encs), Len: L, IDs: make([]int64, n), Mask: make([]int64, n), TypeIDs: make([]int64, n)}
		for r, enc := range encs {
			for j := 0; j < L; j++ {
				b.IDs[r*L+j] = e.m.PadID
			}
			copy(b.IDs[r*L:], enc.IDs)
			copy(b.TypeIDs[r*L:], enc.TypeIDs)
			for j := range enc.IDs {
				b.Mask[r*L+j] = 1
			}
		}
		out = append(out, b)
		return true
	})
	return out, err
}

// Session returns the encoder's ONNX Runtime session (for benchmarks; nil
// with BackendGoMLX).
func (e *Encoder) Session() *ort.Session { return e.sess }

func grow(s []int64, n int) []int64 {
	if cap(s) < n {
		return make([]int64, n)
	}
	return s[:n]
}

// pool reduces one text's token embeddings h ([len(mask), width]) into dst.
func pool(dst, h []float32, mask []int64, width int, method string) {
	if method == PoolCLS {
		copy(dst, h[:width])
		return
	}
	clear(dst)
	var n float32
	for t, m := range mask {
		if m == 0 {
			continue
		}
		n++
		row := h[t*width : (t+1)*width]
		for j, v := range row {
			dst[j] += v
		}
	}
	if n > 0 {
		inv := 1 / n
		for j := range dst {
			dst[j] *= inv
		}
	}
}

// normalize scales v to unit L2 norm (a zero vector stays zero).
func normalize(v []float32) {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	if s == 0 {
		return
	}
	inv := float32(1 / math.Sqrt(s))
	for i := range v {
		v[i] *= inv
	}
}
