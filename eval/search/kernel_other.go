//go:build !amd64 || purego

package search

const haveAVX2 = false

func dot4x3Asm(q *[4][]float32, c *[3][]float32, n int, out *[96]float32) bool { return false }

// countGtEq counts the values of row greater than and equal to t.
func countGtEq(row []float32, t float32) (gt, eq int32) {
	for _, s := range row {
		gt += b2i(s > t)
		eq += b2i(s == t)
	}
	return gt, eq
}

func fmaPeak(int) bool { return false }
