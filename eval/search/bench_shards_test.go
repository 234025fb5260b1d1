package search

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lair-ir/lair/tables"
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// BenchmarkShardedMillion: exact top-k search of Q queries against N
// random unit vectors of dimension D stored in S Arrow IPC shards
// (written by tables.EmbeddingsWriter, memory-mapped by
// tables.MapEmbeddings), one shard at a time, merging each shard's top-k
// into the running top-k. Defaults: N = 1,000,000, D = 384, Q = 1,000,
// K = 1,000, S = 8 (LAIR_SHARDS_N, _D, _Q, _K, _S). Reports the search's
// wall and CPU time, GFLOP/s, and the process's peak RSS.
func BenchmarkShardedMillion(b *testing.B) {
	n, d, nq, k, s := envInt("LAIR_SHARDS_N", 1_000_000), envInt("LAIR_SHARDS_D", 384), envInt("LAIR_SHARDS_Q", 1000), envInt("LAIR_SHARDS_K", 1000), envInt("LAIR_SHARDS_S", 8)
	dir := b.TempDir()
	t0 := time.Now()
	r := rand.New(rand.NewPCG(1, 2))
	unit := func(v []float32) {
		var ss float64
		for i := range v {
			x := r.NormFloat64()
			v[i] = float32(x)
			ss += x * x
		}
		inv := float32(1 / math.Sqrt(ss))
		for i := range v {
			v[i] *= inv
		}
	}
	for sh := 0; sh < s; sh++ {
		w, err := tables.CreateEmbeddings(filepath.Join(dir, tables.EmbeddingsShardFile(sh)), d, "random")
		if err != nil {
			b.Fatal(err)
		}
		lo, hi := sh*n/s, (sh+1)*n/s
		const chunk = 4096
		vec := make([]float32, chunk*d)
		ids, roles, langs := make([]string, chunk), make([]string, chunk), make([]string, chunk)
		for c := lo; c < hi; c += chunk {
			m := min(chunk, hi-c)
			for i := 0; i < m; i++ {
				ids[i], roles[i], langs[i] = fmt.Sprintf("p%08d", c+i), tables.RolePassage, "xx"
				unit(vec[i*d : (i+1)*d])
			}
			if err := w.Write(ids[:m], roles[:m], langs[:m], vec[:m*d]); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
	Q := Matrix{Data: make([]float32, nq*d), Dim: d}
	for q := 0; q < nq; q++ {
		unit(Q.Row(q))
	}
	gen := time.Since(t0)
	threads := runtime.GOMAXPROCS(0)
	b.ResetTimer()
	for it := 0; it < b.N; it++ {
		var ru0, ru1 syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
		t1 := time.Now()
		var merge time.Duration
		top := make([][]IDHit, nq)
		for sh := 0; sh < s; sh++ {
			m, err := tables.MapEmbeddings(filepath.Join(dir, tables.EmbeddingsShardFile(sh)))
			if err != nil {
				b.Fatal(err)
			}
			chunks := make([]Matrix, len(m.Chunks))
			for i, c := range m.Chunks {
				chunks[i] = Matrix{Data: c, Dim: d}
			}
			ch, err := NewChunked(chunks)
			if err != nil {
				b.Fatal(err)
			}
			sc, err := NewDenseChunked(Q, ch)
			if err != nil {
				b.Fatal(err)
			}
			lists, err := TopK(context.Background(), sc, m.IDs, sh, TopKOptions{K: k, Threads: threads})
			if err != nil {
				b.Fatal(err)
			}
			tm := time.Now()
			for q := range top {
				if top[q], err = MergeTop(k, top[q], lists[q]); err != nil {
					b.Fatal(err)
				}
			}
			merge += time.Since(tm)
			if err := m.Close(); err != nil {
				b.Fatal(err)
			}
		}
		wall := time.Since(t1)
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
		cpu := time.Duration(ru1.Utime.Nano()-ru0.Utime.Nano()) + time.Duration(ru1.Stime.Nano()-ru0.Stime.Nano())
		flop := 2 * float64(n) * float64(nq) * float64(d)
		if it == 0 {
			b.Logf("%d x %d (dim %d, %d shards, top-%d, %d threads): generate+write %.1fs; search %.2fs wall, %.2fs CPU (merge %.2fs); %.0f GFLOP -> %.1f GFLOP/s wall, %.1f GFLOP/s per CPU-second; peak RSS %s",
				nq, n, d, s, k, threads, gen.Seconds(), wall.Seconds(), cpu.Seconds(), merge.Seconds(), flop/1e9, flop/wall.Seconds()/1e9, flop/cpu.Seconds()/1e9, peakRSS())
			if len(top[0]) != min(k, n) {
				b.Fatalf("query 0: %d hits", len(top[0]))
			}
		}
	}
}

// peakRSS returns VmHWM from /proc/self/status.
func peakRSS() string {
	bs, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "?"
	}
	for _, l := range strings.Split(string(bs), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			return strings.Join(strings.Fields(l)[1:], " ")
		}
	}
	return "?"
}
