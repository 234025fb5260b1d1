package train

import (
	"fmt"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// InfoNCE returns the mean InfoNCE loss of queries q [b, d] against
// candidates c [n, d] (n >= b; candidate i is the positive of query i, every
// other candidate is a negative), over scores scale * q·c.
// With L2-normalised inputs the scores are scaled cosine similarities.
func InfoNCE(q, c *Node, scale float64) *Node {
	g := q.Graph()
	b := q.Shape().Dim(0)
	n := c.Shape().Dim(0)
	logits := MulScalar(Einsum("id,jd->ij", q, c), scale) // [b, n]
	mx := StopGradient(ReduceAndKeep(logits, ReduceMax, 1))
	lse := Add(Log(ReduceSum(Exp(Sub(logits, mx)), 1)), Reshape(mx, b)) // [b]
	eye := ConvertDType(Equal(Iota(g, shapes.Make(dtypes.Int32, b, n), 0), Iota(g, shapes.Make(dtypes.Int32, b, n), 1)), logits.DType())
	pos := ReduceSum(Mul(logits, eye), 1) // [b]
	return ReduceAllMean(Sub(lse, pos))
}

// optimizer holds AdamW's state variables, one pair per trainable weight.
type optimizer struct {
	m, v []*model.Variable
}

const optScope = "lair_adamw"

func newOptimizer(mdl *Model) *optimizer {
	o := &optimizer{}
	sc := mdl.Store.RootScope().In(optScope)
	for i, w := range mdl.Trainable {
		o.m = append(o.m, sc.VariableWithValue(fmt.Sprintf("m%04d", i), tensors.FromShape(w.Shape())).SetTrainable(false))
		o.v = append(o.v, sc.VariableWithValue(fmt.Sprintf("v%04d", i), tensors.FromShape(w.Shape())).SetTrainable(false))
	}
	return o
}

// hyper are the per-step scalars fed into the step graph.
type hyper struct {
	lr, bc1, bc2 float32 // learning rate, 1-beta1^t, 1-beta2^t
}

// lossGraph encodes a batch and returns its InfoNCE loss. inputs: per
// text group (queries, positives, optionally hard negatives) ids and mask,
// then when training sparsely either the group's local row ids (rows mode)
// or its gathered embeddings, one per table (host-gather mode); then, in
// rows mode, the rows of every table of Model.Sparse (see
// Trainer.batchArgs).
func (t *Trainer) lossGraph(scope *model.Scope, in []*Node) *Node {
	loss, _ := t.lossGraphSums(scope, in)
	return loss
}

// lossGraphSums is lossGraph; with poolGrad it also returns each text
// group's masked sum of token states (maskedSum), the nodes the step takes
// the gradient of.
func (t *Trainer) lossGraphSums(scope *model.Scope, in []*Node) (*Node, []*Node) {
	nt := len(t.model.Sparse)
	var sums []*Node
	per, rows := 2, []*Node(nil)
	switch {
	case t.hostGather:
		per = 2 + nt
	case t.sparse:
		per = 3
		rows = in[len(in)-nt:]
		in = in[:len(in)-nt]
	}
	embed := func(k int) *Node {
		x := in[k*per : (k+1)*per]
		switch {
		case t.poolGrad():
			// The view is Identity(rows): its token states are the fed
			// embeddings themselves.
			sum := maskedSum(x[2], x[1])
			sums = append(sums, sum)
			return poolNormalize(sum, x[1])
		case t.hostGather:
			return t.model.EmbedTables(scope, x[0], x[1], x[2:])
		case t.sparse:
			idx := InsertAxes(x[2], -1) // [b, s, 1]
			embs := make([]*Node, nt)
			for i := range embs {
				embs[i] = Gather(rows[i], idx) // [b, s, Dim]
			}
			return t.model.EmbedTables(scope, x[0], x[1], embs)
		}
		return t.model.Embed(scope, x[0], x[1])
	}
	q, c := embed(0), embed(1)
	if len(in) >= 3*per {
		c = Concatenate([]*Node{c, embed(2)}, 0)
	}
	return InfoNCE(q, c, t.cfg.Scale), sums
}

// poolGrad is true when the step takes the gradient of each text group's
// pooled sum rather than of its token embeddings: host-gather mode with a
// view whose output is the one table's rows (a static model). The
// gradient of a token's embedding is then its text's sum gradient (times
// its 0/1 mask), so the host adds that [Dim] vector into the token's row
// (sparseGrads): the same values, in the same order, as summing the
// [b, s, Dim] embedding gradient, which the pure-Go backend builds with a
// broadcast multiply and a transpose (about half of such a step).
func (t *Trainer) poolGrad() bool {
	return t.hostGather && t.model.viewRows && len(t.model.Sparse) == 1
}

// adamScalars are the per-step scalars of AdamW, derived from the fed lr,
// 1-beta1^t, 1-beta2^t and the clipping factor. The host-side sparse update
// computes the same values in float32 (see sparseAdamW).
type adamScalars struct {
	stepSize, epsHat, gScale, g2Scale, decay *Node
}

func (t *Trainer) adamScalars(lr, bc1, bc2, factor *Node) adamScalars {
	// AdamW with the bias corrections folded into the step size (Kingma &
	// Ba, section 2): w -= lr*sqrt(bc2)/bc1 * m / (sqrt(v) + eps*sqrt(bc2)),
	// and the clipping factor folded into the moment updates, so each
	// weight costs few element-wise passes (they dominate for big
	// matrices).
	sqrtBC2 := Sqrt(bc2)
	return adamScalars{
		stepSize: Div(Mul(lr, sqrtBC2), bc1),
		epsHat:   MulScalar(sqrtBC2, t.cfg.Eps),
		gScale:   MulScalar(factor, 1-t.cfg.Beta1),
		g2Scale:  MulScalar(Square(factor), 1-t.cfg.Beta2),
		decay:    OneMinus(MulScalar(lr, t.cfg.WeightDecay)),
	}
}

// stepGraph is one training step: loss, gradients, global-norm clipping,
// AdamW update. The last three inputs are lr, 1-beta1^t, 1-beta2^t. It
// returns the loss and the gradient norm before clipping, then, when
// training sparsely, the gradient of every table's rows [rows, Dim] (rows
// mode) or of every group's gathered embeddings [b, s, Dim] per table
// (host-gather mode, where the norm is the host's to compute): those rows
// are updated on the host (sparseAdamW); every other weight here.
func (t *Trainer) stepGraph(scope *model.Scope, in []*Node) []*Node {
	k := len(in) - 3
	lr, bc1, bc2 := in[k], in[k+1], in[k+2]
	loss, sums := t.lossGraphSums(scope, in[:k])
	g := loss.Graph()
	sparse := map[int]bool{}
	var rows []*Node // what the sparse gradient is taken of
	nt := len(t.model.Sparse)
	if t.sparse {
		for _, tb := range t.model.Sparse {
			sparse[tb.Trainable] = true
		}
		if t.poolGrad() {
			rows = sums
		} else if t.hostGather {
			per := 2 + nt
			for g := 0; g < k/per; g++ {
				rows = append(rows, in[g*per+2:(g+1)*per]...)
			}
		} else {
			rows = in[k-nt : k]
		}
	}
	var dense []*model.Variable
	var ws []*Node
	for i, v := range t.model.Trainable {
		if !sparse[i] {
			dense = append(dense, v)
			ws = append(ws, v.NodeValue(g))
		}
	}
	grads := Gradient(loss, append(append([]*Node(nil), ws...), rows...)...)
	if t.hostGather {
		// No dense weight: the host sums the embeddings' gradients into
		// rows, takes the norm and updates them (Trainer.Step).
		return append([]*Node{loss, ZerosLike(loss)}, grads...)
	}
	var sq *Node
	for _, gr := range grads {
		s := ReduceAllSum(Square(gr))
		if sq == nil {
			sq = s
		} else {
			sq = Add(sq, s)
		}
	}
	norm := Sqrt(sq)
	factor := OnesLike(norm)
	if t.cfg.ClipNorm > 0 {
		clip := Scalar(g, dtypes.Float32, t.cfg.ClipNorm)
		factor = Div(clip, Max(norm, clip))
	}
	a := t.adamScalars(lr, bc1, bc2, factor)
	b1, b2 := t.cfg.Beta1, t.cfg.Beta2
	idx := map[*model.Variable]int{}
	for i, v := range t.model.Trainable {
		idx[v] = i
	}
	for j, v := range dense {
		i := idx[v]
		gr := grads[j]
		m := Add(MulScalar(t.opt.m[i].NodeValue(g), b1), Mul(gr, a.gScale))
		vv := Add(MulScalar(t.opt.v[i].NodeValue(g), b2), Mul(Square(gr), a.g2Scale))
		t.opt.m[i].SetNodeValue(m)
		t.opt.v[i].SetNodeValue(vv)
		w := ws[j]
		if t.cfg.WeightDecay > 0 && v.Shape().Rank() >= 2 {
			w = Mul(w, a.decay) // decoupled weight decay: w -= lr*wd*w
		}
		v.SetNodeValue(Sub(w, Mul(Div(m, Add(Sqrt(vv), a.epsHat)), a.stepSize)))
	}
	return append([]*Node{loss, norm}, grads[len(ws):]...)
}

// embedGraph returns the pooled, normalised embeddings of ids/mask.
func (t *Trainer) embedGraph(scope *model.Scope, ids, mask *Node) *Node {
	return t.model.Embed(scope, ids, mask)
}
