package search

import (
	"context"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func randMatrix(r *rand.Rand, n, dim int, quant bool) Matrix {
	m := Matrix{Data: make([]float32, n*dim), Dim: dim}
	for i := 0; i < n; i++ {
		var norm float64
		row := m.Row(i)
		for j := range row {
			x := r.NormFloat64()
			if quant {
				x = math.Round(x) // coarse values: many exact ties
			}
			row[j] = float32(x)
			norm += x * x
		}
		if !quant && norm > 0 {
			for j := range row {
				row[j] /= float32(math.Sqrt(norm))
			}
		}
	}
	return m
}

// naive computes, for a query, the full ranking of the candidates in pool
// (indices) by (score desc, ord asc) with scores from pair.
func naive(pool []int, score func(c int) float32, ord []int32) []int {
	out := slices.Clone(pool)
	slices.SortFunc(out, func(a, b int) int {
		sa, sb := score(a), score(b)
		if sa != sb {
			if sa > sb {
				return -1
			}
			return 1
		}
		return int(ord[a] - ord[b])
	})
	return out
}

func TestSearchMatchesNaive(t *testing.T) {
	for _, tc := range []struct {
		dim   int
		quant bool
	}{{16, false}, {13, false}, {8, true}, {3, true}} {
		r := rand.New(rand.NewPCG(uint64(tc.dim), 7))
		nq, nc := 37, 101
		Q := randMatrix(r, nq, tc.dim, tc.quant)
		C := randMatrix(r, nc, tc.dim, tc.quant)
		// duplicate some candidates to force exact ties
		copy(C.Row(5), C.Row(60))
		copy(C.Row(99), C.Row(3))
		segs := []Segment{{"a", 0, 30}, {"b", 30, 31}, {"c", 31, 101}}
		// ord: a permutation increasing within segments but interleaved across
		ord := make([]int32, nc)
		perm := r.Perm(nc)
		for _, s := range segs {
			vals := slices.Clone(perm[s.Lo:s.Hi])
			slices.Sort(vals)
			for i := s.Lo; i < s.Hi; i++ {
				ord[i] = int32(vals[i-s.Lo])
			}
		}
		qseg := make([]int, nq)
		rel := make([][]int32, nq)
		for q := range qseg {
			qseg[q] = r.IntN(4) - 1
			for k := r.IntN(4); k > 0; k-- {
				rel[q] = append(rel[q], int32(r.IntN(nc)))
			}
		}
		d, err := NewDense(Q, C)
		if err != nil {
			t.Fatal(err)
		}
		req := &Request{Segments: segs, Ord: ord, QuerySeg: qseg, Rel: rel,
			KeepK:  func(qs, s int) int { return 5 },
			MultiK: 9, Threads: 3, QueryBlock: 5, CandBlock: 11}
		res, err := Run(context.Background(), d, req)
		if err != nil {
			t.Fatal(err)
		}
		w := d.NewWorker()
		for q := 0; q < nq; q++ {
			score := func(c int) float32 { return w.Pair(q, c) }
			// tile scores equal pair scores exactly
			tile := make([]float32, nc)
			w.Tile([]int{q}, 0, nc, tile)
			for c := 0; c < nc; c++ {
				if tile[c] != score(c) {
					t.Fatalf("tile != pair at q%d c%d", q, c)
				}
			}
			all := make([]int, nc)
			for i := range all {
				all[i] = i
			}
			full := naive(all, score, ord)
			for i := 0; i < 9; i++ {
				if int(res[q].Multi[i].Idx) != full[i] {
					t.Fatalf("dim %d q%d multi top[%d] = %d want %d", tc.dim, q, i, res[q].Multi[i].Idx, full[i])
				}
			}
			for si, s := range segs {
				pool := all[s.Lo:s.Hi]
				segRank := naive(pool, score, ord)
				for i := 0; i < min(5, len(pool)); i++ {
					if int(res[q].Top[si][i].Idx) != segRank[i] {
						t.Fatalf("q%d seg %d top[%d]", q, si, i)
					}
				}
				for ri, c := range rel[q] {
					if int(c) < s.Lo || int(c) >= s.Hi {
						continue
					}
					want := slices.Index(segRank, int(c)) + 1
					only := make([]bool, len(segs))
					only[si] = true
					if got := res[q].RankIn(ri, only); got != want {
						t.Fatalf("q%d rel %d seg rank %d want %d", q, ri, got, want)
					}
				}
			}
			allSegs := []bool{true, true, true}
			for ri, c := range rel[q] {
				want := slices.Index(full, int(c)) + 1
				if got := res[q].RankIn(ri, allSegs); got != want {
					t.Fatalf("dim %d q%d rel %d multi rank %d want %d", tc.dim, q, ri, got, want)
				}
			}
		}
	}
}

func TestKernelAsmMatchesGo(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{8, 64, 768} {
		Q := randMatrix(r, 4, n, false)
		C := randMatrix(r, 3, n, false)
		q := [4][]float32{Q.Row(0), Q.Row(1), Q.Row(2), Q.Row(3)}
		c := [3][]float32{C.Row(0), C.Row(1), C.Row(2)}
		var lanes [96]float32
		var b [12]float32
		dot4x3Go(&q, &c, n, &lanes)
		if !dot4x3Asm(&q, &c, n, &b) {
			t.Skip("no AVX2")
		}
		for i := range b {
			a := reduce8(lanes[i*8 : i*8+8])
			// With n = 8 every lane is one product (an FMA onto zero rounds
			// like a multiplication), so the assembly's reduction must give
			// reduce8's result bit for bit; longer vectors differ by FMA rounding.
			if n == 8 && a != b[i] {
				t.Fatalf("n=8 output %d: go %v asm %v (reduction order differs)", i, a, b[i])
			}
			if math.Abs(float64(a-b[i])) > 1e-4 {
				t.Fatalf("n=%d output %d: go %v asm %v", n, i, a, b[i])
			}
		}
	}
}

func TestRunErrors(t *testing.T) {
	d, _ := NewDense(Matrix{Data: make([]float32, 4), Dim: 2}, Matrix{Data: make([]float32, 4), Dim: 2})
	_, err := Run(context.Background(), d, &Request{Segments: []Segment{{"x", 0, 1}}, QuerySeg: []int{0, 0}, Rel: [][]int32{{0}, {1}},
		KeepK: func(int, int) int { return 1 }})
	if err == nil {
		t.Fatal("segments not covering candidates accepted")
	}
	if _, err := NewDense(Matrix{Dim: 2}, Matrix{Dim: 3}); err == nil {
		t.Fatal("dimension mismatch accepted")
	}
}

func BenchmarkKernel(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	const nq, nc, dim = 128, 192, 768
	Q := randMatrix(r, nq, dim, false)
	C := randMatrix(r, nc, dim, false)
	qs := make([]int, nq)
	for i := range qs {
		qs[i] = i
	}
	var ks kernelScratch
	tile := make([]float32, nq*nc)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ResetTimer()
	c0 := threadCPU()
	for i := 0; i < b.N; i++ {
		ks.tile(Q, C, qs, 0, nc, tile)
	}
	cpu := threadCPU() - c0
	flops := 2.0 * nq * nc * dim * float64(b.N)
	b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	b.ReportMetric(flops/cpu.Seconds()/1e9, "GFLOP/cpu-s")
}

func TestTopKMatchesSort(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	type tc struct{ n, k, levels int }
	var cases []tc
	for _, k := range []int{1, 3, 50, 700, 6000} {
		cases = append(cases, tc{5000, k, 40})
	}
	// long streams: sampled compaction (buffers >= 1024), with many and with few ties
	for _, k := range []int{20, 400, 1000, 3000} {
		cases = append(cases, tc{40000, k, 40}, tc{40000, k, 1 << 20})
	}
	for _, c := range cases {
		n, k := c.n, c.k
		row := make([]float32, n)
		for i := range row {
			row[i] = float32(r.IntN(c.levels)) // ties
		}
		ord := make([]int32, n)
		for i, p := range r.Perm(n) {
			ord[i] = int32(p)
		}
		var tk topK
		tk.reset(k)
		for c0 := 0; c0 < n; c0 += 97 { // stream in chunks
			tk.scan(row[c0:min(c0+97, n)], c0, ord)
		}
		inv := make([]int32, n)
		for c, o := range ord {
			inv[o] = int32(c)
		}
		got := tk.sorted(inv)
		all := make([]Hit, n)
		for i := range all {
			all[i] = Hit{row[i], int32(i)}
		}
		sortHits(all, ord)
		if len(got) != min(k, n) {
			t.Fatalf("k=%d: %d hits", k, len(got))
		}
		for i := range got {
			if got[i] != all[i] {
				t.Fatalf("k=%d: hit %d = %+v want %+v", k, i, got[i], all[i])
			}
		}
	}
}

func TestFilterNLT(t *testing.T) {
	r := rand.New(rand.NewPCG(6, 6))
	nan := float32(math.NaN())
	for n := 0; n < 70; n++ {
		row := make([]float32, n)
		for i := range row {
			row[i] = float32(r.IntN(5))
			if r.IntN(9) == 0 {
				row[i] = nan
			}
		}
		for _, th := range []float32{-1, 0, 2, 2.5, 4, 9} {
			var want []int32
			for i, s := range row {
				if s >= th || s != s {
					want = append(want, int32(i))
				}
			}
			idx := make([]int32, n)
			got := idx[:filterNLT(row, th, idx)]
			if !slices.Equal(got, want) {
				t.Fatalf("n=%d t=%v: got %v want %v", n, th, got, want)
			}
		}
	}
}

func TestCountGtEq(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	for n := 0; n < 70; n++ {
		row := make([]float32, n)
		for i := range row {
			row[i] = float32(r.IntN(5))
		}
		for _, th := range []float32{-1, 0, 2, 2.5, 4, 9} {
			var gt, eq int32
			for _, s := range row {
				if s > th {
					gt++
				}
				if s == th {
					eq++
				}
			}
			g, e := countGtEq(row, th)
			if g != gt || e != eq {
				t.Fatalf("n=%d t=%v: got %d,%d want %d,%d", n, th, g, e, gt, eq)
			}
		}
	}
}

// sortHits (reference) sorts by score descending, then order ascending.
func sortHits(h []Hit, ord []int32) {
	slices.SortFunc(h, func(a, b Hit) int {
		if a.Score != b.Score {
			if a.Score > b.Score {
				return -1
			}
			return 1
		}
		return int(ord[a.Idx] - ord[b.Idx])
	})
}

func TestHitKey(t *testing.T) {
	vals := []float32{float32(math.Inf(-1)), -3, -1e-30, 0, 1e-30, 0.5, 3, float32(math.Inf(1))}
	for i, a := range vals {
		if keyScore(hitKey(a, 7)) != a {
			t.Errorf("round trip %v", a)
		}
		for j, b := range vals {
			if (hitKey(a, 1) < hitKey(b, 1)) != (i > j) {
				t.Errorf("order %v vs %v", a, b)
			}
		}
	}
	negZero := float32(math.Copysign(0, -1))
	if hitKey(negZero, 3) != hitKey(0, 3) {
		t.Error("-0 and +0 differ")
	}
	if !(hitKey(1, 2) < hitKey(1, 3)) {
		t.Error("ties must order by ord ascending")
	}
}

// BenchmarkFMAPeak measures one core's fp32 FMA peak: 12 independent
// chains of 8-lane fused multiply-adds, no memory traffic (the ceiling
// for BenchmarkKernel). GFLOP/s per core; CPU time is reported too since
// the machine may be shared.
func BenchmarkFMAPeak(b *testing.B) {
	const iters = 1 << 20
	if !fmaPeak(1) {
		b.Skip("no AVX2+FMA")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ResetTimer()
	c0 := threadCPU()
	for i := 0; i < b.N; i++ {
		fmaPeak(iters)
	}
	cpu := threadCPU() - c0
	b.ReportMetric(192*float64(iters)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	b.ReportMetric(192*float64(iters)*float64(b.N)/cpu.Seconds()/1e9, "GFLOP/cpu-s")
}

// threadCPU returns the calling thread's CPU time (lock the goroutine to
// its thread around a measurement).
func threadCPU() time.Duration {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts) != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

func TestSortKeys(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	var tmp []uint64
	for _, n := range []int{0, 1, 5, 127, 128, 129, 1000, 5000} {
		for _, mode := range []string{"random", "ties", "small"} {
			keys := make([]uint64, n)
			for i := range keys {
				switch mode {
				case "random":
					keys[i] = r.Uint64()
				case "ties": // equal scores, distinct small orders
					keys[i] = uint64(r.IntN(3))<<32 | uint64(r.IntN(1<<14))
				case "small": // all bytes but one equal
					keys[i] = 7<<40 | uint64(r.IntN(256))<<8
				}
			}
			want := slices.Clone(keys)
			slices.Sort(want)
			tmp = sortKeys(keys, tmp)
			if !slices.Equal(keys, want) {
				t.Fatalf("n=%d %s: not sorted", n, mode)
			}
		}
	}
}
