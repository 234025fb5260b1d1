package storetest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lair-ir/lair/storage"
)

// Backend is what Run needs of a backend under test.
type Backend struct {
	// Open opens a new session of the store kept in (or, for a remote
	// store, named after) the directory dir: two calls with one dir give
	// two sessions of one store, as two processes (or, with a remote
	// store, two machines with their own caches) would have.
	Open func(t *testing.T, dir string) storage.Store
	// OpenLocal, when set, opens a session on one fixed machine for dir
	// (build locks exclude sessions of one machine only); the Lock test
	// uses it. Default: Open.
	OpenLocal func(t *testing.T, dir string) storage.Store
	// Damage changes one byte of file rel of the published key where the
	// store keeps it (for S3: the object, not the local cache).
	Damage func(t *testing.T, s storage.Store, key, rel string)
	// Shared says that sessions of Open are machines that see each other
	// only through the store (S3): Hold and Collect then exchange leases.
	// Otherwise they are processes of one machine, and the store lock
	// (the session vs an Exclusive open) does it, so Collect returns no
	// leases.
	Shared bool
}

func write(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func build(t *testing.T, s storage.Store, key string, files map[string]string) string {
	t.Helper()
	d, err := s.NewTemp(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	write(t, d, files)
	return d
}

func read(t *testing.T, s storage.Store, key, rel string) string {
	t.Helper()
	p, err := s.Path(context.Background(), key)
	if err != nil {
		t.Fatalf("Path(%s): %v", key, err)
	}
	b, err := os.ReadFile(filepath.Join(p, filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Run runs the conformance tests against b.
func Run(t *testing.T, b Backend) {
	for _, tc := range []struct {
		name string
		f    func(*testing.T, func(*testing.T) storage.Store, Backend)
	}{
		{"PublishOnceReplace", testPublish},
		{"ListDelete", testListDelete},
		{"VerifyQuarantine", testVerify},
		{"Lock", testLock},
		{"HoldCollect", testHoldCollect},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			open := b.Open
			if tc.name == "Lock" && b.OpenLocal != nil {
				open = b.OpenLocal
			}
			tc.f(t, func(t *testing.T) storage.Store {
				s := open(t, dir)
				t.Cleanup(func() { s.Close() })
				return s
			}, b)
		})
	}
}

func testPublish(t *testing.T, open func(*testing.T) storage.Store, b Backend) {
	ctx := context.Background()
	s := open(t)
	if err := s.Check(ctx); err != nil {
		t.Fatalf("Check: %v", err)
	}
	if _, err := s.Path(ctx, "k1"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Path of a missing key: %v, want ErrNotFound", err)
	}
	if _, err := s.Manifest(ctx, "k1"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Manifest of a missing key: %v, want ErrNotFound", err)
	}
	if _, err := s.NewTemp(ctx, "../x"); err == nil {
		t.Error("NewTemp with a bad key: no error")
	}
	d := build(t, s, "k1", map[string]string{"a.txt": "one", "sub/b.bin": "two"})
	m, err := s.Publish(ctx, "k1", d)
	if err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if len(m.Files) != 2 || m.Files[0].Path != "a.txt" || m.Files[1].Size != 3 {
		t.Fatalf("manifest %+v", m)
	}
	if _, err := os.Stat(d); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temp dir still there after Publish: %v", err)
	}
	if got := read(t, s, "k1", "sub/b.bin"); got != "two" {
		t.Errorf("published file = %q", got)
	}
	// Group-readable, whatever mode the stage wrote with.
	p, _ := s.Path(ctx, "k1")
	for _, q := range []string{p, filepath.Join(p, "sub"), filepath.Join(p, "a.txt")} {
		fi, err := os.Stat(q)
		if err != nil {
			t.Fatal(err)
		}
		want := os.FileMode(0o644)
		if fi.IsDir() {
			want = 0o755
		}
		if fi.Mode().Perm()&want != want {
			t.Errorf("%s: mode %v, want at least %v", q, fi.Mode().Perm(), want)
		}
	}
	// Another session sees it.
	s2 := open(t)
	if got := read(t, s2, "k1", "a.txt"); got != "one" {
		t.Errorf("second session reads %q", got)
	}
	// Publish once: a second Publish keeps the first artifact.
	d2 := build(t, s2, "k1", map[string]string{"a.txt": "other"})
	m2, err := s2.Publish(ctx, "k1", d2)
	if err != nil || !storage.SameFiles(m, m2) {
		t.Fatalf("second Publish = %+v, %v; want the first manifest", m2, err)
	}
	if got := read(t, s, "k1", "a.txt"); got != "one" {
		t.Errorf("after second Publish: %q, want the first artifact", got)
	}
	// Replace swaps it.
	d3 := build(t, s2, "k1", map[string]string{"a.txt": "three"})
	m3, err := s2.Replace(ctx, "k1", d3)
	if err != nil || len(m3.Files) != 1 {
		t.Fatalf("Replace = %+v, %v", m3, err)
	}
	for _, st := range []storage.Store{s, s2} {
		if got := read(t, st, "k1", "a.txt"); got != "three" {
			t.Errorf("after Replace: %q", got)
		}
		if _, err := os.Stat(filepath.Join(mustPath(t, st, "k1"), "sub")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("after Replace the old artifact's files are still visible")
		}
	}
	// Discard.
	d4 := build(t, s, "k2", map[string]string{"x": "x"})
	if err := s.Discard(d4); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(d4); !errors.Is(err, os.ErrNotExist) {
		t.Error("Discard left the temp dir")
	}
}

func mustPath(t *testing.T, s storage.Store, key string) string {
	t.Helper()
	p, err := s.Path(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func testListDelete(t *testing.T, open func(*testing.T) storage.Store, b Backend) {
	ctx := context.Background()
	s := open(t)
	if keys, err := s.List(ctx); err != nil || len(keys) != 0 {
		t.Fatalf("List of a new store = %v, %v", keys, err)
	}
	for _, k := range []string{"b", "a", "c"} {
		if _, err := s.Publish(ctx, k, build(t, s, k, map[string]string{"f": k})); err != nil {
			t.Fatal(err)
		}
	}
	if keys, err := s.List(ctx); err != nil || strings.Join(keys, ",") != "a,b,c" {
		t.Fatalf("List = %v, %v", keys, err)
	}
	if err := s.Delete(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "never"); err != nil {
		t.Errorf("Delete of a missing key: %v", err)
	}
	if keys, _ := s.List(ctx); strings.Join(keys, ",") != "a,c" {
		t.Errorf("List after Delete = %v", keys)
	}
	if _, err := s.Path(ctx, "b"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Path after Delete: %v", err)
	}
}

func testVerify(t *testing.T, open func(*testing.T) storage.Store, b Backend) {
	ctx := context.Background()
	s := open(t)
	for _, k := range []string{"good", "bad"} {
		if _, err := s.Publish(ctx, k, build(t, s, k, map[string]string{"data.bin": "0123456789", "m.json": "{}"})); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range []string{"good", "bad"} {
		if err := s.Verify(ctx, k); err != nil {
			t.Fatalf("Verify(%s) of an intact artifact: %v", k, err)
		}
	}
	b.Damage(t, s, "bad", "data.bin")
	err := s.Verify(ctx, "bad")
	if !errors.Is(err, storage.ErrCorrupt) || !strings.Contains(err.Error(), "data.bin") {
		t.Fatalf("Verify of a damaged artifact: %v; want ErrCorrupt naming data.bin", err)
	}
	if err := s.Verify(ctx, "good"); err != nil {
		t.Errorf("Verify(good): %v", err)
	}
	if err := s.Verify(ctx, "missing"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Verify(missing): %v, want ErrNotFound", err)
	}
	where, err := s.Quarantine(ctx, "bad")
	if err != nil || !strings.Contains(where, ".quarantine") {
		t.Fatalf("Quarantine = %q, %v", where, err)
	}
	if keys, _ := s.List(ctx); strings.Join(keys, ",") != "good" {
		t.Errorf("List after Quarantine = %v", keys)
	}
	if _, err := s.Path(ctx, "bad"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Path after Quarantine: %v", err)
	}
	// The key can be built again.
	if _, err := s.Publish(ctx, "bad", build(t, s, "bad", map[string]string{"data.bin": "fixed"})); err != nil {
		t.Fatal(err)
	}
	if err := s.Verify(ctx, "bad"); err != nil {
		t.Errorf("Verify after rebuild: %v", err)
	}
}

func testLock(t *testing.T, open func(*testing.T) storage.Store, b Backend) {
	ctx := context.Background()
	s1, s2 := open(t), open(t)
	unlock, err := s1.Lock(ctx, "k", storage.LockOptions{Owner: "stage one"})
	if err != nil {
		t.Fatal(err)
	}
	var heard atomic.Value
	var got atomic.Bool
	go func() {
		time.Sleep(300 * time.Millisecond)
		unlock()
	}()
	start := time.Now()
	unlock2, err := s2.Lock(ctx, "k", storage.LockOptions{Owner: "stage two", OnWait: func(h storage.Holder) { heard.Store(h) }})
	if err != nil {
		t.Fatal(err)
	}
	got.Store(true)
	if time.Since(start) < 250*time.Millisecond {
		t.Errorf("second Lock did not wait (%v)", time.Since(start))
	}
	h, _ := heard.Load().(storage.Holder)
	host, _ := os.Hostname()
	if h.PID != os.Getpid() || h.Owner != "stage one" || h.Host != host || h.Key != "k" || time.Since(h.Since) > time.Minute {
		t.Errorf("OnWait heard %+v; want this pid, host %s, owner \"stage one\"", h, host)
	}
	if !strings.Contains(h.String(), "stage one") {
		t.Errorf("Holder.String() = %q", h.String())
	}
	// A cancelled wait ends with the context's error.
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := s1.Lock(cctx, "k", storage.LockOptions{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Lock with an ending context: %v", err)
	}
	unlock2()
}

// testHoldCollect: on a shared store a gc (Collect) on one machine sees the
// keys a run (Hold) on another holds, until the run releases them; a run
// that starts while a gc is in progress waits for it to end, and hears
// who collects. On a local store Hold and Collect exchange nothing.
func testHoldCollect(t *testing.T, open func(*testing.T) storage.Store, b Backend) {
	ctx := context.Background()
	run, gc := open(t), open(t)
	release, err := run.Hold(ctx, []string{"k1", "k2"}, storage.HoldOptions{Owner: "run one"})
	if err != nil {
		t.Fatal(err)
	}
	inUse, done, err := gc.Collect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	done()
	if !b.Shared {
		if len(inUse) != 0 {
			t.Errorf("a local store returned leases: %v", inUse)
		}
		release()
		return
	}
	host, _ := os.Hostname()
	if len(inUse) != 1 || strings.Join(inUse[0].Keys, ",") != "k1,k2" || inUse[0].Owner != "run one" ||
		inUse[0].PID != os.Getpid() || inUse[0].Host != host || inUse[0].Kind != storage.LeaseRun {
		t.Fatalf("Collect while a run holds k1, k2: %+v", inUse)
	}
	if !strings.Contains(inUse[0].String(), "run one") {
		t.Errorf("Lease.String() = %q", inUse[0].String())
	}
	release()
	release() // twice is fine
	if inUse, done, err = gc.Collect(ctx); err != nil || len(inUse) != 0 {
		t.Fatalf("Collect after the run released: %v %v", inUse, err)
	}

	// A gc in progress: Hold waits for done.
	var heard atomic.Value
	held := make(chan error, 1)
	go func() {
		rel, err := run.Hold(ctx, []string{"k3"}, storage.HoldOptions{OnWait: func(l *storage.Lease) { heard.Store(l) }})
		if err == nil {
			defer rel()
		}
		held <- err
	}()
	select {
	case err := <-held:
		t.Fatalf("Hold returned (%v) while a gc was in progress", err)
	case <-time.After(500 * time.Millisecond):
	}
	// The waiting run's lease is already in the store: this gc (and any
	// later one) keeps k3.
	if l, ok := heard.Load().(*storage.Lease); !ok || l.Kind != storage.LeaseGC || l.PID != os.Getpid() {
		t.Errorf("OnWait heard %v; want the gc's lease", heard.Load())
	}
	done()
	select {
	case err := <-held:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Hold still waits 10 s after the gc ended")
	}
	// A cancelled wait ends with the context's error and leaves no lease.
	_, done, err = gc.Collect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if _, err := run.Hold(cctx, []string{"k4"}, storage.HoldOptions{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Hold with an ending context during a gc: %v", err)
	}
	done()
	if inUse, done, err = gc.Collect(ctx); err != nil || len(inUse) != 0 {
		t.Errorf("leases left after every run ended: %v %v", inUse, err)
	}
	done()
}
