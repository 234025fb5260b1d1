//go:build amd64 && !purego

package search

import "golang.org/x/sys/cpu"

//go:noescape
func dot4x3AVX2(q0, q1, q2, q3, c0, c1, c2 *float32, n int, out *[12]float32)

var haveAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// dot4x3Asm sets out[i*3+j] to the dot product of q[i][:n] and c[j][:n]
// (n a multiple of 8), reduced as reduce8 does, and reports whether it
// could (AVX2+FMA present).
func dot4x3Asm(q *[4][]float32, c *[3][]float32, n int, out *[12]float32) bool {
	if !haveAVX2 || n == 0 {
		return false
	}
	dot4x3AVX2(&q[0][0], &q[1][0], &q[2][0], &q[3][0], &c[0][0], &c[1][0], &c[2][0], n, out)
	return true
}

//go:noescape
func countAVX2(row *float32, n int, t float32) (gt, eq int)

// countGtEq counts the values of row greater than and equal to t.
func countGtEq(row []float32, t float32) (gt, eq int32) {
	n8 := len(row) &^ 7
	if haveAVX2 && n8 > 0 {
		g, e := countAVX2(&row[0], n8, t)
		gt, eq = int32(g), int32(e)
	}
	for _, s := range row[n8:] {
		gt += b2i(s > t)
		eq += b2i(s == t)
	}
	return gt, eq
}

//go:noescape
func filterAVX2(row *float32, n int, t float32, idx *int32) int

// filterNLT writes to idx the positions i of row where !(row[i] < t)
// (scores that may beat the threshold t, NaN included), in increasing
// order, and returns their count. idx must hold len(row) entries.
func filterNLT(row []float32, t float32, idx []int32) int {
	n8 := len(row) &^ 7
	n := 0
	if haveAVX2 && n8 > 0 {
		n = filterAVX2(&row[0], n8, t, &idx[0])
	} else {
		n8 = 0
	}
	for i := n8; i < len(row); i++ {
		if !(row[i] < t) {
			idx[n] = int32(i)
			n++
		}
	}
	return n
}

//go:noescape
func fmaPeakAVX2(iters int)

// fmaPeak runs iters iterations of 12 independent 8-lane FMAs (192 flops
// each) and reports whether it could (AVX2+FMA present).
func fmaPeak(iters int) bool {
	if !haveAVX2 || iters <= 0 {
		return false
	}
	fmaPeakAVX2(iters)
	return true
}
