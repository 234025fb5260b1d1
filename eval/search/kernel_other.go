//go:build !amd64 || purego

package search

const haveAVX2 = false

func dot4x3Asm(q *[4][]float32, c *[3][]float32, n int, out *[12]float32) bool { return false }

// countGtEq counts the values of row greater than and equal to t.
func countGtEq(row []float32, t float32) (gt, eq int32) {
	for _, s := range row {
		gt += b2i(s > t)
		eq += b2i(s == t)
	}
	return gt, eq
}

func fmaPeak(int) bool { return false }

// filterNLT writes to idx the positions i of row where !(row[i] < t)
// (scores that may beat the threshold t, NaN included), in increasing
// order, and returns their count. idx must hold len(row) entries.
func filterNLT(row []float32, t float32, idx []int32) int {
	n := 0
	for i, s := range row {
		if !(s < t) {
			idx[n] = int32(i)
			n++
		}
	}
	return n
}
