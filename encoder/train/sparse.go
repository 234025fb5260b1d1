package train

import (
	"fmt"
	"math"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/tensors"
)

// Sparse embedding updates.
//
// A batch of 32 pairs x 64 tokens uses 2-3k rows of a 30-60k-row table.
// The step graph therefore receives only those rows (gatherRows: the
// batch's distinct token ids, sorted, padded with zero rows to a bucketed
// count so few shapes are compiled), its gradient with respect to them is
// the table's sparse gradient (row ids, row gradients), and AdamW updates
// only those rows, on the host (sparseAdamW), in the variables' own
// memory. Nothing else is copied: the table, its moments and the best
// weights stay in the GoMLX store, so checkpoints, resume and export work
// as for any weight.
//
// The optimiser is AdamW with lazy moments, as PyTorch's SparseAdam and
// the LazyAdam of TF Addons: the moments of the rows a batch does not use
// stay as they are, and such a row is not moved (dense AdamW would keep
// moving it with its decaying first moment). Decoupled weight decay is
// applied to the touched rows only. Where every row is used at every step,
// this is exactly dense AdamW. The bias corrections use the global step
// count, as in SparseAdam.

// rowBucket rounds a row count up to 64, 96, 128, 192, 256, 384, ...
// (powers of two and 1.5 times powers of two), so a run compiles few
// shapes and pads at most a third.
func rowBucket(n int) int {
	b := 64
	for {
		if n <= b {
			return b
		}
		if n <= b+b/2 {
			return b + b/2
		}
		b *= 2
	}
}

// gatherRows copies the rows t.uniq of table tb into a new [rowBucket, Dim]
// tensor (zero rows after the used ones).
func (t *Trainer) gatherRows(tb SparseTable) *tensors.Tensor {
	out := tensors.FromShape(shapes.Make(dtypes.Float32, rowBucket(len(t.uniq)), tb.Dim))
	tensors.MustMutableFlatData(out, func(dst []float32) {
		tensors.MustConstFlatData(t.model.Trainable[tb.Trainable].MustValue(), func(w []float32) {
			d := tb.Dim
			for j, id := range t.uniq {
				copy(dst[j*d:(j+1)*d], w[int(id)*d:(int(id)+1)*d])
			}
		})
	})
	return out
}

// sparseGrads returns the gradient of every table's rows t.uniq, flat
// [len(t.uniq) x Dim], from the step graph's extra outputs: the rows'
// gradients (rows mode), or the gradients of every group's gathered
// embeddings (host-gather mode), which it sums into rows, in token order.
// In host-gather mode it also returns the global gradient norm (the
// tables are the only weights).
func (t *Trainer) sparseGrads(outs []*tensors.Tensor) (grads [][]float32, norm float32, err error) {
	nt := len(t.model.Sparse)
	u := len(t.uniq)
	if !t.hostGather {
		if len(outs) != nt {
			return nil, 0, fmt.Errorf("step graph returned %d sparse gradients, want %d", len(outs), nt)
		}
		for i, tb := range t.model.Sparse {
			s := outs[i].Shape()
			if s.Rank() != 2 || s.Dim(1) != tb.Dim || s.Dim(0) < u {
				return nil, 0, fmt.Errorf("sparse gradient of %s has shape %s, want [>=%d, %d]", tb.Name, s, u, tb.Dim)
			}
			grads = append(grads, tensors.MustCopyFlatData[float32](outs[i])[:u*tb.Dim])
		}
		return grads, 0, nil
	}
	if len(outs) != nt*len(t.groupLocal) {
		return nil, 0, fmt.Errorf("step graph returned %d embedding gradients, want %d", len(outs), nt*len(t.groupLocal))
	}
	for len(t.rowGrad) < nt {
		t.rowGrad = append(t.rowGrad, nil)
	}
	var sq float64
	for i, tb := range t.model.Sparse {
		d := tb.Dim
		rg := t.rowGrad[i]
		if cap(rg) < u*d {
			rg = make([]float32, u*d)
		}
		rg = rg[:u*d]
		clear(rg)
		for g, loc := range t.groupLocal {
			o := outs[g*nt+i]
			if t.poolGrad() {
				// o is the gradient of the group's pooled sums [n, Dim]:
				// every unmasked token of text r adds row r of it.
				mask := t.groupMask[g]
				n := o.Shape().Dim(0)
				if o.Shape().Rank() != 2 || o.Shape().Dim(1) != d || n == 0 || len(loc)%n != 0 || len(mask) != len(loc) {
					return nil, 0, fmt.Errorf("pooled-sum gradient of %s has shape %s, want [texts, %d] for %d tokens", tb.Name, o.Shape(), d, len(loc))
				}
				L := len(loc) / n
				tensors.MustConstFlatData(o, func(tg []float32) {
					for p, j := range loc {
						if mask[p] == 0 {
							continue // its embedding's gradient is 0
						}
						dst, src := rg[int(j)*d:int(j+1)*d], tg[(p/L)*d:(p/L+1)*d]
						for k, x := range src {
							dst[k] += x
						}
					}
				})
				continue
			}
			if o.Shape().Size() != len(loc)*d {
				return nil, 0, fmt.Errorf("embedding gradient of %s has shape %s, want %d values", tb.Name, o.Shape(), len(loc)*d)
			}
			tensors.MustConstFlatData(o, func(tg []float32) {
				for p, j := range loc {
					dst, src := rg[int(j)*d:int(j+1)*d], tg[p*d:(p+1)*d]
					for k, x := range src {
						dst[k] += x
					}
				}
			})
		}
		for _, x := range rg {
			sq += float64(x) * float64(x)
		}
		t.rowGrad[i] = rg
		grads = append(grads, rg)
	}
	return grads, float32(math.Sqrt(sq)), nil
}

// gatherTokens returns the rows of table tb for every token of ids [n, L]:
// a [n, L, Dim] tensor.
func (t *Trainer) gatherTokens(tb SparseTable, ids []int64, n, L int) *tensors.Tensor {
	out := tensors.FromShape(shapes.Make(dtypes.Float32, n, L, tb.Dim))
	tensors.MustMutableFlatData(out, func(dst []float32) {
		tensors.MustConstFlatData(t.model.Trainable[tb.Trainable].MustValue(), func(w []float32) {
			d := tb.Dim
			for p, id := range ids {
				copy(dst[p*d:(p+1)*d], w[int(id)*d:(int(id)+1)*d])
			}
		})
	})
	return out
}

// sparseAdamW applies AdamW with lazy moments to the rows t.uniq of table
// tb, given their gradient g [len(t.uniq) x Dim], the global gradient norm
// before clipping and the step's scalars. It computes in float32 with the
// same formula as the graph's dense update (stepGraph): a row used at every
// step gets what dense AdamW gives it.
func (t *Trainer) sparseAdamW(tb SparseTable, g []float32, norm float32, h hyper) {
	d := tb.Dim
	cfg := t.cfg
	factor := float32(1)
	if cfg.ClipNorm > 0 {
		clip := float32(cfg.ClipNorm)
		factor = clip / max(norm, clip)
	}
	sqrtBC2 := float32(math.Sqrt(float64(h.bc2)))
	stepSize := float32(h.lr*sqrtBC2) / h.bc1
	epsHat := float32(sqrtBC2 * float32(cfg.Eps))
	gScale := float32(factor * float32(1-cfg.Beta1))
	g2Scale := float32(float32(factor*factor) * float32(1-cfg.Beta2))
	decay := 1 - float32(h.lr*float32(cfg.WeightDecay))
	b1, b2 := float32(cfg.Beta1), float32(cfg.Beta2)
	wd := cfg.WeightDecay > 0
	tensors.MustMutableFlatData(t.model.Trainable[tb.Trainable].MustValue(), func(w []float32) {
		tensors.MustMutableFlatData(t.opt.m[tb.Trainable].MustValue(), func(m []float32) {
			tensors.MustMutableFlatData(t.opt.v[tb.Trainable].MustValue(), func(v []float32) {
				for j, id := range t.uniq {
					gr := g[j*d : (j+1)*d]
					o := int(id) * d
					wr, mr, vr := w[o:o+d], m[o:o+d], v[o:o+d]
					for k, x := range gr {
						mk := float32(mr[k]*b1) + float32(x*gScale)
						vk := float32(vr[k]*b2) + float32(float32(x*x)*g2Scale)
						mr[k], vr[k] = mk, vk
						wk := wr[k]
						if wd {
							wk = float32(wk * decay) // decoupled weight decay, touched rows only
						}
						den := float32(float32(math.Sqrt(float64(vk))) + epsHat)
						wr[k] = wk - float32(float32(mk/den)*stepSize)
					}
				}
			})
		})
	})
}
