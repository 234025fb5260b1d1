package search

// The scoring kernel: dot products of 4 query rows with 3 candidate rows
// at a time (12 independent accumulators of 8 lanes each), in AVX2+FMA
// assembly on amd64 and in Go elsewhere. Every (query, candidate) score is
// computed by exactly the same sequence of operations whatever its
// position in a tile, so a score computed alone (Pair) equals the one the
// tile computed bit for bit; ties and ranks are therefore deterministic.

// reduce8 sums 8 lanes in a fixed order.
func reduce8(a []float32) float32 {
	_ = a[7]
	return ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7]))
}

// dot4x3 writes out[i*3+j] = dot(q[i], c[j]) for vectors of length dim:
// 8 lane partial sums over the first dim&^7 entries reduced by reduce8
// (inside the assembly when it runs), then the rest added one by one.
func dot4x3(q *[4][]float32, c *[3][]float32, dim int, out *[12]float32, scratch *[96]float32) {
	n8 := dim &^ 7
	if !dot4x3Asm(q, c, n8, out) {
		dot4x3Go(q, c, n8, scratch)
		for i := range out {
			out[i] = reduce8(scratch[i*8 : i*8+8])
		}
	}
	if n8 < dim {
		for i := 0; i < 4; i++ {
			for j := 0; j < 3; j++ {
				s := out[i*3+j]
				qi, cj := q[i], c[j]
				for k := n8; k < dim; k++ {
					s += qi[k] * cj[k]
				}
				out[i*3+j] = s
			}
		}
	}
}

// dot4x3Go is the portable version of the assembly kernel.
func dot4x3Go(q *[4][]float32, c *[3][]float32, n8 int, out *[96]float32) {
	*out = [96]float32{}
	for i := 0; i < 4; i++ {
		qi := q[i][:n8]
		for j := 0; j < 3; j++ {
			cj := c[j][:n8]
			acc := out[(i*3+j)*8 : (i*3+j)*8+8]
			for k := 0; k < n8; k += 8 {
				acc[0] += qi[k] * cj[k]
				acc[1] += qi[k+1] * cj[k+1]
				acc[2] += qi[k+2] * cj[k+2]
				acc[3] += qi[k+3] * cj[k+3]
				acc[4] += qi[k+4] * cj[k+4]
				acc[5] += qi[k+5] * cj[k+5]
				acc[6] += qi[k+6] * cj[k+6]
				acc[7] += qi[k+7] * cj[k+7]
			}
		}
	}
}

// Matrix is a row-major matrix of float32 vectors.
type Matrix struct {
	Data []float32
	Dim  int
}

// Rows returns the number of rows.
func (m Matrix) Rows() int {
	if m.Dim == 0 {
		return 0
	}
	return len(m.Data) / m.Dim
}

// Row returns row i (not a copy).
func (m Matrix) Row(i int) []float32 { return m.Data[i*m.Dim : (i+1)*m.Dim] }

// kernelScratch is a worker's scratch space for the micro-kernel.
type kernelScratch struct {
	q   [4][]float32
	c   [3][]float32
	out [12]float32
	acc [96]float32
}

// tile computes tile[i*(c1-c0)+j] = dot(Q[qs[i]], C[c0+j]) for the
// query rows qs and candidate rows [c0,c1).
func (ks *kernelScratch) tile(Q, C Matrix, qs []int, c0, c1 int, tile []float32) {
	ks.tileAt(Q, C, qs, c0, c1, tile, c1-c0, 0)
}

// tileAt is tile writing into columns off.. of a tile with stride columns
// per row: tile[i*stride+off+j] = dot(Q[qs[i]], C[c0+j]).
func (ks *kernelScratch) tileAt(Q, C Matrix, qs []int, c0, c1 int, tile []float32, stride, off int) {
	nq := len(qs)
	for cj := c0; cj < c1; cj += 3 {
		for j := 0; j < 3; j++ {
			ks.c[j] = C.Row(min(cj+j, c1-1))
		}
		for qi := 0; qi < nq; qi += 4 {
			for i := 0; i < 4; i++ {
				ks.q[i] = Q.Row(qs[min(qi+i, nq-1)])
			}
			dot4x3(&ks.q, &ks.c, Q.Dim, &ks.out, &ks.acc)
			for i := 0; i < 4 && qi+i < nq; i++ {
				base := (qi+i)*stride + off + cj - c0
				for j := 0; j < 3 && cj+j < c1; j++ {
					tile[base+j] = ks.out[i*3+j]
				}
			}
		}
	}
}

// pair returns dot(Q[q], C[c]) exactly as tile computes it.
func (ks *kernelScratch) pair(Q, C Matrix, q, c int) float32 {
	for i := range ks.q {
		ks.q[i] = Q.Row(q)
	}
	for j := range ks.c {
		ks.c[j] = C.Row(c)
	}
	dot4x3(&ks.q, &ks.c, Q.Dim, &ks.out, &ks.acc)
	return ks.out[0]
}
