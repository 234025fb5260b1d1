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

// lossGraph encodes a batch and returns its InfoNCE loss. inputs: q ids,
// q mask, p ids, p mask and optionally negative ids and mask.
func (t *Trainer) lossGraph(scope *model.Scope, in []*Node) *Node {
	q := t.model.Embed(scope, in[0], in[1])
	c := t.model.Embed(scope, in[2], in[3])
	if len(in) >= 6 {
		c = Concatenate([]*Node{c, t.model.Embed(scope, in[4], in[5])}, 0)
	}
	return InfoNCE(q, c, t.cfg.Scale)
}

// stepGraph is one training step: loss, gradients, global-norm clipping,
// AdamW update. The last three inputs are lr, 1-beta1^t, 1-beta2^t. It
// returns the loss and the gradient norm before clipping.
func (t *Trainer) stepGraph(scope *model.Scope, in []*Node) []*Node {
	k := len(in) - 3
	lr, bc1, bc2 := in[k], in[k+1], in[k+2]
	loss := t.lossGraph(scope, in[:k])
	g := loss.Graph()
	ws := make([]*Node, len(t.model.Trainable))
	for i, v := range t.model.Trainable {
		ws[i] = v.NodeValue(g)
	}
	grads := Gradient(loss, ws...)
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
	// AdamW with the bias corrections folded into the step size (Kingma &
	// Ba, section 2): w -= lr*sqrt(bc2)/bc1 * m / (sqrt(v) + eps*sqrt(bc2)),
	// and the clipping factor folded into the moment updates, so each
	// weight costs few element-wise passes (they dominate for big
	// embedding matrices).
	b1, b2 := t.cfg.Beta1, t.cfg.Beta2
	sqrtBC2 := Sqrt(bc2)
	stepSize := Div(Mul(lr, sqrtBC2), bc1)
	epsHat := MulScalar(sqrtBC2, t.cfg.Eps)
	gScale := MulScalar(factor, 1-b1)
	g2Scale := MulScalar(Square(factor), 1-b2)
	decay := OneMinus(MulScalar(lr, t.cfg.WeightDecay))
	for i, v := range t.model.Trainable {
		m := Add(MulScalar(t.opt.m[i].NodeValue(g), b1), Mul(grads[i], gScale))
		vv := Add(MulScalar(t.opt.v[i].NodeValue(g), b2), Mul(Square(grads[i]), g2Scale))
		t.opt.m[i].SetNodeValue(m)
		t.opt.v[i].SetNodeValue(vv)
		w := ws[i]
		if t.cfg.WeightDecay > 0 && v.Shape().Rank() >= 2 {
			w = Mul(w, decay) // decoupled weight decay: w -= lr*wd*w
		}
		v.SetNodeValue(Sub(w, Mul(Div(m, Add(Sqrt(vv), epsHat)), stepSize)))
	}
	return []*Node{loss, norm}
}

// embedGraph returns the pooled, normalised embeddings of ids/mask.
func (t *Trainer) embedGraph(scope *model.Scope, ids, mask *Node) *Node {
	return t.model.Embed(scope, ids, mask)
}
