package train

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// refLoss is the float64 reference of MeanPoolNormalize + InfoNCE.
func refLoss(hq, hc [][][]float64, mq, mc [][]float64, scale float64) float64 {
	pool := func(h [][][]float64, m [][]float64) [][]float64 {
		out := make([][]float64, len(h))
		for i := range h {
			d := len(h[i][0])
			v := make([]float64, d)
			cnt := 0.0
			for s := range h[i] {
				for k := 0; k < d; k++ {
					v[k] += h[i][s][k] * m[i][s]
				}
				cnt += m[i][s]
			}
			cnt = math.Max(cnt, 1)
			n := 0.0
			for k := range v {
				v[k] /= cnt
				n += v[k] * v[k]
			}
			n = math.Sqrt(n + 1e-12)
			for k := range v {
				v[k] /= n
			}
			out[i] = v
		}
		return out
	}
	q, c := pool(hq, mq), pool(hc, mc)
	total := 0.0
	for i := range q {
		logits := make([]float64, len(c))
		mx := math.Inf(-1)
		for j := range c {
			for k := range q[i] {
				logits[j] += q[i][k] * c[j][k]
			}
			logits[j] *= scale
			mx = math.Max(mx, logits[j])
		}
		s := 0.0
		for _, l := range logits {
			s += math.Exp(l - mx)
		}
		total += math.Log(s) + mx - logits[i]
	}
	return total / float64(len(q))
}

func TestInfoNCEGradientFiniteDifference(t *testing.T) {
	backend, err := NewBackend()
	if err != nil {
		t.Fatal(err)
	}
	const b, n, s, d = 3, 4, 3, 5 // 3 queries, 4 candidates (one hard negative), 3 positions, width 5
	const scale = 5.0
	rng := rand.New(rand.NewPCG(1, 2))
	mk := func(rows int) [][][]float64 {
		h := make([][][]float64, rows)
		for i := range h {
			h[i] = make([][]float64, s)
			for j := range h[i] {
				h[i][j] = make([]float64, d)
				for k := range h[i][j] {
					h[i][j][k] = rng.NormFloat64()
				}
			}
		}
		return h
	}
	hq, hc := mk(b), mk(n)
	mq := [][]float64{{1, 1, 0}, {1, 0, 0}, {1, 1, 1}}
	mc := [][]float64{{1, 1, 1}, {1, 1, 0}, {1, 0, 0}, {1, 1, 0}}
	flat := func(h [][][]float64) []float32 {
		var out []float32
		for _, a := range h {
			for _, r := range a {
				for _, x := range r {
					out = append(out, float32(x))
				}
			}
		}
		return out
	}
	flatM := func(m [][]float64) []float32 {
		var out []float32
		for _, r := range m {
			for _, x := range r {
				out = append(out, float32(x))
			}
		}
		return out
	}
	exec := MustNewExec(backend, func(hqN, hcN, mqN, mcN *Node) []*Node {
		loss := InfoNCE(MeanPoolNormalize(hqN, mqN), MeanPoolNormalize(hcN, mcN), scale)
		grads := Gradient(loss, hqN, hcN)
		return []*Node{loss, grads[0], grads[1]}
	})
	out := exec.MustExec(
		tensors.FromFlatDataAndDimensions(flat(hq), b, s, d), tensors.FromFlatDataAndDimensions(flat(hc), n, s, d),
		tensors.FromFlatDataAndDimensions(flatM(mq), b, s), tensors.FromFlatDataAndDimensions(flatM(mc), n, s))
	gotLoss := float64(tensors.ToScalar[float32](out[0]))
	want := refLoss(hq, hc, mq, mc, scale)
	if math.Abs(gotLoss-want) > 1e-4*math.Max(1, math.Abs(want)) {
		t.Fatalf("loss %v, reference %v", gotLoss, want)
	}
	const eps = 1e-5
	check := func(name string, h [][][]float64, grad []float32, m [][]float64) {
		idx := 0
		for i := range h {
			for j := range h[i] {
				for k := range h[i][j] {
					old := h[i][j][k]
					h[i][j][k] = old + eps
					up := refLoss(hq, hc, mq, mc, scale)
					h[i][j][k] = old - eps
					down := refLoss(hq, hc, mq, mc, scale)
					h[i][j][k] = old
					fd := (up - down) / (2 * eps)
					g := float64(grad[idx])
					if math.Abs(fd-g) > 1e-3*math.Max(1, math.Abs(fd)) {
						t.Errorf("%s[%d][%d][%d]: gradient %v, finite difference %v", name, i, j, k, g, fd)
					}
					if m[i][j] == 0 && g != 0 {
						t.Errorf("%s[%d][%d][%d]: masked position has gradient %v", name, i, j, k, g)
					}
					idx++
				}
			}
		}
	}
	check("q", hq, tensors.MustCopyFlatData[float32](out[1]), mq)
	check("c", hc, tensors.MustCopyFlatData[float32](out[2]), mc)
	_ = shapes.Make(dtypes.Float32)
}
