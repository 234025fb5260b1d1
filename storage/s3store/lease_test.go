package s3store_test

import (
	"context"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lair-ir/lair/internal/s3server"
	"github.com/lair-ir/lair/storage"
	"github.com/lair-ir/lair/storage/dirstore"
	"github.com/lair-ir/lair/storage/s3store"
)

// machine opens the store s3://lair/<prefix> on srv as one machine: its
// own client and local cache.
func machine(t *testing.T, srv *s3server.Server, prefix string, opts storage.CachedOptions) (storage.Store, *s3store.Store) {
	t.Helper()
	remote := storeVia(t, srv, srv.Endpoint, prefix)
	cache, err := dirstore.Open(context.Background(), t.TempDir(), dirstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st := storage.NewCached(remote, cache, opts)
	t.Cleanup(func() { st.Close() })
	return st, remote
}

// TestLeasesVersitygw proves the lease protocol between machines on a real
// S3 server (versitygw): leases of killed runs and gcs (expired) are
// ignored and cleaned up; a held lease is renewed, so it outlives its
// lifetime; and a run and a gc starting at the same moment always see
// each other: the gc keeps the run's key, or the run waits for the gc.
func TestLeasesVersitygw(t *testing.T) {
	srv := s3server.Start(t, s3server.Options{Buckets: []string{"lair"}})
	ctx := context.Background()

	t.Run("expired", func(t *testing.T) {
		st, remote := machine(t, srv, "expired", storage.CachedOptions{})
		deadRun := storage.NewLease(storage.LeaseRun, "killed run", []string{"k"}, -time.Minute)
		deadGC := storage.NewLease(storage.LeaseGC, "killed gc", nil, -time.Minute)
		for _, l := range []*storage.Lease{deadRun, deadGC} {
			if err := remote.PutLease(ctx, l); err != nil {
				t.Fatal(err)
			}
		}
		start := time.Now()
		release, err := st.Hold(ctx, []string{"x"}, storage.HoldOptions{OnWait: func(l *storage.Lease) { t.Errorf("waited for %s", l) }})
		if err != nil {
			t.Fatal(err)
		}
		release()
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("Hold took %s next to an expired gc lease", d)
		}
		inUse, done, err := st.Collect(ctx)
		if err != nil {
			t.Fatal(err)
		}
		done()
		if len(inUse) != 0 {
			t.Errorf("Collect returned expired leases: %v", inUse)
		}
		// The expired run lease was deleted; only the dead gc's is left
		// (a gc cleans run leases; the dead gc's is harmless).
		objs, _ := srv.Objects("lair", "expired/.leases/")
		if len(objs) != 1 || filepath.Base(objs[0]) != "gc-"+deadGC.ID+".json" {
			t.Errorf("lease objects after a gc: %v; want only the dead gc's", objs)
		}
	})

	t.Run("renewed", func(t *testing.T) {
		ttl := 600 * time.Millisecond
		run, _ := machine(t, srv, "renewed", storage.CachedOptions{RunLeaseTTL: ttl})
		gc, _ := machine(t, srv, "renewed", storage.CachedOptions{})
		release, err := run.Hold(ctx, []string{"k"}, storage.HoldOptions{Owner: "long run"})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(3 * ttl)
		inUse, done, err := gc.Collect(ctx)
		if err != nil {
			t.Fatal(err)
		}
		done()
		if len(inUse) != 1 || inUse[0].Owner != "long run" {
			t.Fatalf("a run holding its lease for 3 lifetimes: Collect saw %v", inUse)
		}
		release()
		if objs, _ := srv.Objects("lair", "renewed/.leases/"); len(objs) != 0 {
			t.Errorf("lease objects left after release: %v", objs)
		}
	})

	t.Run("race", func(t *testing.T) {
		opts := storage.CachedOptions{Poll: 10 * time.Millisecond}
		run, _ := machine(t, srv, "race", opts)
		gc, _ := machine(t, srv, "race", opts)
		const rounds = 20
		var kept, waited int
		for i := range rounds {
			key := "k" + string(rune('a'+i))
			var wg sync.WaitGroup
			var inUse []*storage.Lease
			var gcEnd, holdEnd time.Time
			var herr, cerr error
			var release func()
			wg.Add(2)
			go func() {
				defer wg.Done()
				// The run keeps its lease until the round ends: it uses
				// its keys all along.
				release, herr = run.Hold(ctx, []string{key}, storage.HoldOptions{})
				holdEnd = time.Now()
			}()
			go func() {
				defer wg.Done()
				var done func()
				inUse, done, cerr = gc.Collect(ctx)
				if cerr == nil {
					time.Sleep(50 * time.Millisecond) // the gc deletes
					gcEnd = time.Now()
					done()
				}
			}()
			wg.Wait()
			if herr != nil || cerr != nil {
				t.Fatal(herr, cerr)
			}
			release()
			saw := slices.ContainsFunc(inUse, func(l *storage.Lease) bool { return slices.Contains(l.Keys, key) })
			switch {
			case saw:
				kept++
			case holdEnd.After(gcEnd):
				waited++
			default:
				t.Errorf("round %d: the gc did not see the run's lease and the run did not wait for the gc", i)
			}
		}
		t.Logf("%d rounds: the gc kept the run's key %d times, the run waited for the gc %d times", rounds, kept, waited)
	})
}
