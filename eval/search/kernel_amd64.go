//go:build amd64 && !purego

package search

import "golang.org/x/sys/cpu"

//go:noescape
func dot4x3AVX2(q0, q1, q2, q3, c0, c1, c2 *float32, n int, out *[96]float32)

var haveAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

func dot4x3Asm(q *[4][]float32, c *[3][]float32, n int, out *[96]float32) bool {
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
