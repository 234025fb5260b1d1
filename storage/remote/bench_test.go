package remote_test

import (
	"context"
	"testing"

	"github.com/lair-ir/lair/cluster/clustertest"
	"github.com/lair-ir/lair/pipeline"
	"github.com/lair-ir/lair/storage/remote"
	"github.com/lair-ir/lair/storage/s3store/s3fake"
)

// BenchmarkCachedRun times a fully cached `lair run` of the test sweep DAG
// (10 instances, 1 MiB blob per gen instance) through pipeline.Execute:
// on the local directory store, on S3 with this machine's cache warm, and
// on S3 from a fresh machine (empty local cache: Execute only asks Has and
// Dir for cached instances, so every artifact's manifest is read and its
// files fetched).
//
//	go test -run XXX -bench CachedRun -benchtime 20x ./storage/remote
func BenchmarkCachedRun(b *testing.B) {
	ctx := context.Background()
	plan, err := pipeline.LoadFile(clustertest.SweepDAG("../../cluster/clustertest"), clustertest.Registry(),
		pipeline.LoadOptions{Set: map[string]string{"bytes": "1048576"}})
	if err != nil {
		b.Fatal(err)
	}
	run := func(b *testing.B, st pipeline.Store) {
		res, err := pipeline.Execute(ctx, plan, pipeline.RunOptions{Store: st, Jobs: 2})
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range res.Results {
			if r.Status != pipeline.StatusCached && b.N > 0 {
				b.Fatalf("%s %s, want cached", r.Instance.Name, r.Status)
			}
		}
	}
	b.Run("local", func(b *testing.B) {
		st, err := pipeline.OpenLocalStore(ctx, b.TempDir(), pipeline.OpenOptions{})
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		if _, err := pipeline.Execute(ctx, plan, pipeline.RunOptions{Store: st, Jobs: 2}); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			run(b, st)
		}
	})
	srv, err := s3fake.Start("lair")
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	s3 := newS3(b, srv, "s3://lair/bench")
	warm, err := remote.New(s3, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer warm.Close()
	if _, err := pipeline.Execute(ctx, plan, pipeline.RunOptions{Store: warm, Jobs: 2}); err != nil {
		b.Fatal(err)
	}
	b.Run("s3-warm-cache", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			run(b, warm)
		}
	})
	b.Run("s3-fresh-machine", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			fresh, err := remote.New(s3, b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			run(b, fresh)
			b.StopTimer()
			fresh.Close()
			b.StartTimer()
		}
	})
}
