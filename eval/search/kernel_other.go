//go:build !amd64 || purego

package search

const haveAVX2 = false

func dot4x3Asm(q *[4][]float32, c *[3][]float32, n int, out *[96]float32) bool { return false }
