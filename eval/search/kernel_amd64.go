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
