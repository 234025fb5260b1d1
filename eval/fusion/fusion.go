package fusion

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/lair-ir/lair/eval"
)

// Methods.
const (
	RRF   = "rrf"
	Score = "score"
)

// Normalisations of score fusion.
const (
	ZScore = "zscore"
	MinMax = "minmax"
)

// Options say how rankings are fused.
type Options struct {
	Method  string    // RRF or Score
	K       float64   // RRF constant (default 60)
	Norm    string    // ZScore or MinMax (Score only)
	Weights []float64 // one per input; nil means all 1
	Depth   int       // length of the fused top list (default 1000)
	RunID   string    // run_id of the fused rows (required)
}

// Input is one ranking to fuse: its file (for error messages) and its rows.
type Input struct {
	Path string
	Rows []eval.Ranking
}

// Stats summarise a fusion.
type Stats struct {
	Rows        int // fused rows written
	Unretrieved int // relevant candidates no input retrieved (expected rank in the tied block)
}

func (o *Options) check(n int) error {
	if n < 2 {
		return fmt.Errorf("fusion needs at least two rankings, got %d", n)
	}
	switch o.Method {
	case RRF:
		if o.K == 0 {
			o.K = 60
		}
		if o.K < 0 || math.IsNaN(o.K) {
			return fmt.Errorf("rrf k = %v: want a positive number (60 is the usual value)", o.K)
		}
	case Score:
		switch o.Norm {
		case ZScore, MinMax:
		case "":
			o.Norm = ZScore
		default:
			return fmt.Errorf("normalisation %q: want %s or %s", o.Norm, ZScore, MinMax)
		}
	default:
		return fmt.Errorf("fusion method %q: want %s or %s", o.Method, RRF, Score)
	}
	if o.Weights == nil {
		o.Weights = slices.Repeat([]float64{1}, n)
	}
	if len(o.Weights) != n {
		return fmt.Errorf("%d weights for %d rankings: give one weight per input", len(o.Weights), n)
	}
	for i, w := range o.Weights {
		if w < 0 || math.IsNaN(w) || math.IsInf(w, 0) {
			return fmt.Errorf("weight %d = %v: want a finite number >= 0", i+1, w)
		}
	}
	if o.Depth == 0 {
		o.Depth = 1000
	}
	if o.Depth < 0 {
		return fmt.Errorf("depth %d: want a positive number", o.Depth)
	}
	if o.RunID == "" {
		return errors.New("fusion needs a run_id for its rows")
	}
	return nil
}

// key identifies one ranking row: one query in one pool.
type key struct{ dataset, setting, qid, cLang string }

func keyOf(r *eval.Ranking) key { return key{r.Dataset, r.Setting, r.QID, r.CLang} }

func (k key) String() string {
	return fmt.Sprintf("dataset %s, setting %s, qid %s, c_lang %s", k.dataset, k.setting, k.qid, k.cLang)
}

// Fuse fuses the inputs and hands the fused rows, in the first input's
// order, to write.
func Fuse(ctx context.Context, inputs []Input, opt Options, write func([]eval.Ranking) error) (Stats, error) {
	var st Stats
	if err := opt.check(len(inputs)); err != nil {
		return st, err
	}
	index := make([]map[key]*eval.Ranking, len(inputs))
	for i, in := range inputs {
		index[i] = make(map[key]*eval.Ranking, len(in.Rows))
		for j := range in.Rows {
			r := &in.Rows[j]
			k := keyOf(r)
			if _, dup := index[i][k]; dup {
				return st, fmt.Errorf("%s: two rows for %s: a rankings file has one row per query and pool", in.Path, k)
			}
			index[i][k] = r
		}
	}
	for i := 1; i < len(inputs); i++ {
		if len(index[i]) != len(index[0]) {
			return st, fmt.Errorf("%s has %d rankings but %s has %d: fuse rankings of the same queries and pools (same dataset, settings and query set)",
				inputs[i].Path, len(index[i]), inputs[0].Path, len(index[0]))
		}
	}
	f := fuser{opt: opt}
	const batch = 256
	out := make([]eval.Ranking, 0, batch)
	rows := make([]*eval.Ranking, len(inputs))
	for j := range inputs[0].Rows {
		if j%batch == 0 {
			if err := ctx.Err(); err != nil {
				return st, err
			}
		}
		k := keyOf(&inputs[0].Rows[j])
		for i := range inputs {
			r, ok := index[i][k]
			if !ok {
				return st, fmt.Errorf("%s has no ranking for %s that %s has: fuse rankings of the same queries and pools", inputs[i].Path, k, inputs[0].Path)
			}
			if err := sameRow(r, rows[0], inputs[i].Path, inputs[0].Path, i); err != nil {
				return st, err
			}
			rows[i] = r
		}
		fused, unret := f.fuse(rows)
		st.Unretrieved += unret
		out = append(out, fused)
		if len(out) == batch {
			if err := write(out); err != nil {
				return st, err
			}
			st.Rows += len(out)
			out = out[:0]
		}
	}
	if len(out) > 0 {
		if err := write(out); err != nil {
			return st, err
		}
		st.Rows += len(out)
	}
	return st, nil
}

// sameRow checks that row r of input i ranks the same pool as the first
// input's row (nil when i == 0).
func sameRow(r, first *eval.Ranking, path, firstPath string, i int) error {
	if i == 0 {
		return nil
	}
	k := keyOf(r)
	if r.PoolSize != first.PoolSize {
		return fmt.Errorf("%s ranks %d candidates for %s but %s ranks %d: the pools differ, fuse rankings over the same candidates",
			path, r.PoolSize, k, firstPath, first.PoolSize)
	}
	if r.QLang != first.QLang {
		return fmt.Errorf("%s says query %s is %q but %s says %q", path, r.QID, r.QLang, firstPath, first.QLang)
	}
	a, b := slices.Clone(r.RelCIDs), slices.Clone(first.RelCIDs)
	slices.Sort(a)
	slices.Sort(b)
	if !slices.Equal(a, b) {
		return fmt.Errorf("%s and %s disagree on the relevant candidates of %s (%s vs %s): fuse rankings made from the same qrels",
			path, firstPath, k, strings.Join(a, ","), strings.Join(b, ","))
	}
	return nil
}

type fuser struct {
	opt    Options
	scores map[string]float64
	cands  []string
	ranked []scored
}

type scored struct {
	cid   string
	score float64
}

// fuse fuses the rows of one key; it returns the fused row and how many
// relevant candidates no input retrieved.
func (f *fuser) fuse(rows []*eval.Ranking) (eval.Ranking, int) {
	if f.scores == nil {
		f.scores = map[string]float64{}
	}
	clear(f.scores)
	f.cands = f.cands[:0]
	var floor float64 // fused score of a candidate no input retrieved
	for i, r := range rows {
		w := f.opt.Weights[i]
		switch f.opt.Method {
		case RRF:
			for rank, c := range r.TopCIDs {
				f.add(c, w/(f.opt.K+float64(rank+1)))
			}
		case Score:
			// a candidate missing from a list gets that list's lowest normalised
			// value: every candidate starts at the sum of those (floor) and each
			// list adds what its candidates have above its lowest
			norm, low := normalise(r.TopScores, f.opt.Norm)
			floor += w * low
			for j, c := range r.TopCIDs {
				f.add(c, w*(norm[j]-low))
			}
		}
	}
	if f.opt.Method == Score {
		for _, c := range f.cands {
			f.scores[c] += floor
		}
	}
	f.ranked = f.ranked[:0]
	for _, c := range f.cands {
		f.ranked = append(f.ranked, scored{c, f.scores[c]})
	}
	slices.SortFunc(f.ranked, func(a, b scored) int {
		if c := cmp.Compare(b.score, a.score); c != 0 {
			return c
		}
		return strings.Compare(a.cid, b.cid)
	})
	first := rows[0]
	pool := int(first.PoolSize)
	union := len(f.ranked)
	out := eval.Ranking{RunID: f.opt.RunID, Dataset: first.Dataset, Setting: first.Setting, QID: first.QID,
		QLang: first.QLang, CLang: first.CLang, PoolSize: first.PoolSize}
	depth := min(f.opt.Depth, union)
	out.TopCIDs = make([]string, depth)
	out.TopScores = make([]float32, depth)
	for i, c := range f.ranked[:depth] {
		out.TopCIDs[i], out.TopScores[i] = c.cid, float32(c.score)
	}
	relPos := make(map[string]int, len(first.RelCIDs)) // fused rank of each retrieved relevant candidate
	for _, c := range first.RelCIDs {
		relPos[c] = 0
	}
	for i, c := range f.ranked {
		if _, ok := relPos[c.cid]; ok {
			relPos[c.cid] = i + 1
		}
	}
	rank := func(cid string) (int, bool) {
		p := relPos[cid]
		return p, p > 0
	}
	type rel struct {
		cid, lang string
		grade     int32
		rank      int32
		score     float32
	}
	rels := make([]rel, len(first.RelCIDs))
	unret := 0
	for i, c := range first.RelCIDs {
		rl := rel{cid: c, lang: first.RelLangs[i], grade: first.RelGrades[i]}
		if p, ok := rank(c); ok {
			rl.rank, rl.score = int32(p), float32(f.scores[c])
		} else {
			rl.rank, rl.score = int32(f.estimateRank(rows, c, union, pool)), float32(floor)
			unret++
		}
		rels[i] = rl
	}
	slices.SortStableFunc(rels, func(a, b rel) int {
		if c := cmp.Compare(a.rank, b.rank); c != 0 {
			return c
		}
		return strings.Compare(a.cid, b.cid)
	})
	for _, rl := range rels {
		out.RelCIDs = append(out.RelCIDs, rl.cid)
		out.RelLangs = append(out.RelLangs, rl.lang)
		out.RelGrades = append(out.RelGrades, rl.grade)
		out.RelRanks = append(out.RelRanks, rl.rank)
		out.RelScores = append(out.RelScores, rl.score)
	}
	return out, unret
}

// estimateRank is the fused rank of a relevant candidate that no input
// retrieved within its top list, estimated from its exact rank in every
// input (rankings record the exact rank of each relevant candidate over the
// whole pool): for RRF, the rank r* at which a candidate ranked r* by every
// input gets the same score, n·w̄/Σ w_i/(k+r_i) − k; for score fusion, the
// weighted mean of the input ranks. It is kept below the union and within
// the pool.
func (f *fuser) estimateRank(rows []*eval.Ranking, cid string, union, pool int) int {
	var num, den float64
	for i, r := range rows {
		w := f.opt.Weights[i]
		rk := float64(pool) // a relevant candidate every row lists; pool if absent
		for j, c := range r.RelCIDs {
			if c == cid {
				rk = float64(r.RelRanks[j])
				break
			}
		}
		switch f.opt.Method {
		case RRF:
			num += w
			den += w / (f.opt.K + rk)
		default:
			num += w * rk
			den += w
		}
	}
	var est float64
	switch {
	case den == 0:
		est = float64(pool)
	case f.opt.Method == RRF:
		est = num/den - f.opt.K
	default:
		est = num / den
	}
	return max(union+1, min(pool, int(math.Round(est))))
}

func (f *fuser) add(c string, v float64) {
	if _, ok := f.scores[c]; !ok {
		f.cands = append(f.cands, c)
	}
	f.scores[c] += v
}

// normalise returns the normalised scores of one top list and the lowest
// normalised value (what a candidate missing from the list gets).
func normalise(s []float32, how string) ([]float64, float64) {
	out := make([]float64, len(s))
	if len(s) == 0 {
		return out, 0
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	var sum float64
	for _, v := range s {
		x := float64(v)
		lo, hi = min(lo, x), max(hi, x)
		sum += x
	}
	switch how {
	case MinMax:
		if hi == lo {
			for i := range out {
				out[i] = 1
			}
			return out, 0
		}
		for i, v := range s {
			out[i] = (float64(v) - lo) / (hi - lo)
		}
		return out, 0
	default: // z-score
		mean := sum / float64(len(s))
		var ss float64
		for _, v := range s {
			d := float64(v) - mean
			ss += d * d
		}
		sd := math.Sqrt(ss / float64(len(s)))
		if sd == 0 {
			return out, 0
		}
		for i, v := range s {
			out[i] = (float64(v) - mean) / sd
		}
		return out, (lo - mean) / sd
	}
}
