package remote_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lair-ir/lair/cluster/clustertest"
	"github.com/lair-ir/lair/pipeline"
	"github.com/lair-ir/lair/storage/remote"
	"github.com/lair-ir/lair/storage/s3store"
	"github.com/lair-ir/lair/storage/s3store/s3fake"
)

func newS3(t testing.TB, srv *s3fake.Server, url string) *s3store.Store {
	t.Helper()
	cfg, err := s3store.FromEnv(url, srv.Getenv())
	if err != nil {
		t.Fatal(err)
	}
	st, err := s3store.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func statuses(res *pipeline.Result) map[string]string {
	out := map[string]string{}
	for _, r := range res.Results {
		out[r.Instance.Name] = r.Status
	}
	return out
}

// TestExecuteOnS3 runs the local executor with an S3 store from two
// "machines" (two cache directories): the second hits the cache for every
// instance and its stages read the same bytes.
func TestExecuteOnS3(t *testing.T) {
	ctx := context.Background()
	srv, err := s3fake.Start("lair")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	plan, err := pipeline.LoadFile(clustertest.SweepDAG("../../cluster/clustertest"), clustertest.Registry(), pipeline.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}

	a, err := remote.New(newS3(t, srv, "s3://lair/x"), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	res, err := pipeline.Execute(ctx, plan, pipeline.RunOptions{Store: a, Jobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	for name, st := range statuses(res) {
		if st != pipeline.StatusRan {
			t.Errorf("machine A: %s %s, want ran", name, st)
		}
	}

	// A cached run on a warm machine costs one request per instance.
	srv.Requests()
	if _, err := pipeline.Execute(ctx, plan, pipeline.RunOptions{Store: a, Jobs: 2}); err != nil {
		t.Fatal(err)
	}
	if got := srv.Requests(); got["GET"] != len(plan.Instances) || len(got) != 1 {
		t.Errorf("cached run on a warm machine made requests %v, want %d GETs", got, len(plan.Instances))
	}

	b, err := remote.New(newS3(t, srv, "s3://lair/x"), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	res2, err := pipeline.Execute(ctx, plan, pipeline.RunOptions{Store: b, Jobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	for name, st := range statuses(res2) {
		if st != pipeline.StatusCached {
			t.Errorf("machine B: %s %s, want cached", name, st)
		}
	}
	sum, _ := plan.Instance("sum")
	da, _ := a.Dir(ctx, sum.Key)
	db, err := b.Dir(ctx, sum.Key)
	if err != nil {
		t.Fatal(err)
	}
	x, _ := os.ReadFile(filepath.Join(da, "sum.txt"))
	y, _ := os.ReadFile(filepath.Join(db, "sum.txt"))
	if string(x) != string(y) || strings.Count(string(x), "\n") != 3 {
		t.Errorf("sum.txt differs between machines:\n%s\n%s", x, y)
	}

	// Machine B forces gen[seed=1] to run again: it replaces the published keys,
	// and machine A's stale local copies are fetched again.
	if _, err := pipeline.Execute(ctx, plan, pipeline.RunOptions{Store: b, Jobs: 2, Force: []string{"gen[seed=1]"}}); err != nil {
		t.Fatal(err)
	}
	gen, _ := plan.Instance("gen[seed=1]")
	// Replace the artifact behind A's back with other content.
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "numbers.txt"), []byte("42\n"), 0o644)
	if err := b.Backend().Delete(ctx, gen.Key); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Backend().Publish(ctx, gen.Key, other); err != nil {
		t.Fatal(err)
	}
	dir, err := a.Dir(ctx, gen.Key)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "numbers.txt"))
	if string(got) != "42\n" {
		t.Errorf("machine A read a stale copy: %q", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "blob.bin")); err == nil {
		t.Errorf("stale file left in the refreshed copy")
	}
	keys, err := a.List(ctx)
	if err != nil || len(keys) != len(plan.Instances) {
		t.Errorf("List = %d keys, %v; want %d", len(keys), err, len(plan.Instances))
	}
}

func TestOpenChecks(t *testing.T) {
	srv, err := s3fake.Start("lair")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	for _, kv := range srv.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	if _, err := remote.Open(context.Background(), "s3://missing/x", t.TempDir()); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("Open of a missing bucket: %v", err)
	}
	s, err := remote.Open(context.Background(), "s3://lair/x", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
}

func TestOpenPipelineStore(t *testing.T) {
	ctx := context.Background()
	st, err := remote.OpenPipelineStore(ctx, t.TempDir(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := st.(*pipeline.LocalStore); !ok {
		t.Errorf("a directory opened %T, want *pipeline.LocalStore", st)
	}
	st.Close()
	st, err = remote.OpenPipelineStore(ctx, "file://"+t.TempDir(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := st.(*remote.Store); !ok {
		t.Errorf("a file:// URL opened %T, want *remote.Store", st)
	}
	st.Close()
	if _, err := remote.OpenPipelineStore(ctx, "gs://x/y", t.TempDir()); err == nil {
		t.Error("gs:// accepted")
	}
}

// TestConcurrentDir asks for the same artifact from many goroutines of a
// fresh machine at once, as stages sharing an input do.
func TestConcurrentDir(t *testing.T) {
	ctx := context.Background()
	srv, err := s3fake.Start("lair")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	s3 := newS3(t, srv, "s3://lair/c")
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "a"), clustertest.Blob(1, 1<<20), 0o644)
	if _, err := s3.Publish(ctx, "k", src); err != nil {
		t.Fatal(err)
	}
	st, err := remote.New(s3, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		go func() {
			dir, err := st.Dir(ctx, "k")
			if err == nil {
				var b []byte
				b, err = os.ReadFile(filepath.Join(dir, "a"))
				if err == nil && len(b) != 1<<20 {
					err = fmt.Errorf("read %d bytes", len(b))
				}
			}
			errs <- err
		}()
	}
	for i := 0; i < 8; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
