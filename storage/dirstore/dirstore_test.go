package dirstore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lair-ir/lair/storage"
	"github.com/lair-ir/lair/storage/dirstore"
	"github.com/lair-ir/lair/storage/storetest"
)

func open(t *testing.T, dir string) *dirstore.Store {
	t.Helper()
	s, err := dirstore.Open(context.Background(), dir, dirstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Backend{
		Open: func(t *testing.T, dir string) storage.Store {
			s, err := dirstore.Open(context.Background(), dir, dirstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
		Damage: func(t *testing.T, s storage.Store, key, rel string) {
			p, err := s.Path(context.Background(), key)
			if err != nil {
				t.Fatal(err)
			}
			f := filepath.Join(p, rel)
			b, _ := os.ReadFile(f)
			b[0] ^= 1
			if err := os.WriteFile(f, b, 0o644); err != nil {
				t.Fatal(err)
			}
		},
	})
}

func TestLayout(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	s := open(t, root)
	d, _ := s.NewTemp(ctx, "abc")
	os.WriteFile(filepath.Join(d, "x"), []byte("xyz"), 0o644)
	if _, err := s.Publish(ctx, "abc", d); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "abc", dirstore.MarkerName))
	if err != nil {
		t.Fatal(err)
	}
	m, err := storage.ParseManifest(b, "abc")
	if err != nil || len(m.Files) != 1 || m.Files[0].SHA256 != "3608bca1e44ea6c4d268eb6db02260269892c0b42b86bbf1e77a6fa16c3c9282" {
		t.Fatalf("marker = %s, %v", b, err)
	}
	if got, _ := os.ReadFile(filepath.Join(root, "abc", "files", "x")); string(got) != "xyz" {
		t.Errorf("files/x = %q", got)
	}
	// A key directory without its marker (a hand-made one) is not trusted.
	os.MkdirAll(filepath.Join(root, "half", "files"), 0o755)
	if ok, _ := storage.Has(ctx, s, "half"); ok {
		t.Error("key without marker is visible")
	}
	if keys, _ := s.List(ctx); len(keys) != 1 {
		t.Errorf("List = %v", keys)
	}
}

// TestStaleTempRemoved: a killed session's temp dirs go when the next
// session opens the store; a live session's stay.
func TestStaleTempRemoved(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, ".tmp", "999-dead", "abc-1"), 0o755)
	os.WriteFile(filepath.Join(root, ".tmp", "999-dead.lock"), nil, 0o644)
	live := open(t, root)
	d, _ := live.NewTemp(ctx, "k")
	open(t, root)
	if _, err := os.Stat(filepath.Join(root, ".tmp", "999-dead")); !os.IsNotExist(err) {
		t.Errorf("stale temp dir survived: %v", err)
	}
	if _, err := os.Stat(d); err != nil {
		t.Errorf("live session's temp dir removed: %v", err)
	}
	live.Close()
	if _, err := os.Stat(d); !os.IsNotExist(err) {
		t.Errorf("Close left the temp dir: %v", err)
	}
}

func TestCheckUnwritable(t *testing.T) {
	f := filepath.Join(t.TempDir(), "file")
	os.WriteFile(f, nil, 0o644)
	_, err := dirstore.Open(context.Background(), filepath.Join(f, "store"), dirstore.Options{})
	if err == nil || !strings.Contains(err.Error(), f) {
		t.Errorf("Open under a file: %v; want an error naming the path", err)
	}
}

// TestVerifyDamagedMarker: a marker that is no valid manifest is damage
// too: Verify says so (ErrCorrupt) and Quarantine takes the key out.
func TestVerifyDamagedMarker(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	s := open(t, root)
	d, _ := s.NewTemp(ctx, "k")
	os.WriteFile(filepath.Join(d, "x"), []byte("x"), 0o644)
	if _, err := s.Publish(ctx, "k", d); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(root, "k", dirstore.MarkerName), []byte("{not json"), 0o644)
	err := s.Verify(ctx, "k")
	if !errors.Is(err, storage.ErrCorrupt) || !strings.Contains(err.Error(), dirstore.MarkerName) {
		t.Fatalf("Verify with a damaged marker: %v; want ErrCorrupt naming the marker", err)
	}
	if _, err := s.Quarantine(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if keys, _ := s.List(ctx); len(keys) != 0 {
		t.Errorf("List after Quarantine = %v", keys)
	}
}

// readOnlyView mounts a read-only bind mount of dir and returns its path,
// or skips the test where this process may not mount (not root).
func readOnlyView(t *testing.T, dir string) string {
	t.Helper()
	view := t.TempDir()
	if out, err := exec.Command("mount", "--bind", dir, view).CombinedOutput(); err != nil {
		t.Skipf("cannot bind-mount here (needs root): %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", view).CombinedOutput(); err != nil {
			t.Logf("umount %s: %v %s", view, err, out)
		}
	})
	if out, err := exec.Command("mount", "-o", "remount,bind,ro", view).CombinedOutput(); err != nil {
		t.Skipf("cannot remount read-only: %v %s", err, out)
	}
	return view
}

// TestReadOnly: a store on a read-only file system opens read-only:
// published artifacts can be read and verified; everything that writes
// fails with ErrReadOnly, naming the store and what to do; lair gc's
// exclusive open is refused; an exclusive session elsewhere (gc) keeps the
// read-only session waiting, since it takes the store lock shared.
func TestReadOnly(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	w := open(t, root)
	d, _ := w.NewTemp(ctx, "k1")
	os.WriteFile(filepath.Join(d, "x"), []byte("xyz"), 0o644)
	if _, err := w.Publish(ctx, "k1", d); err != nil {
		t.Fatal(err)
	}
	w.Close()
	view := readOnlyView(t, root)

	s, err := dirstore.Open(ctx, view, dirstore.Options{})
	if err != nil {
		t.Fatalf("open a read-only store: %v", err)
	}
	defer s.Close()
	if err := s.Check(ctx); err != nil {
		t.Errorf("Check of a readable read-only store: %v", err)
	}
	ro := s.Writable()
	if !errors.Is(ro, storage.ErrReadOnly) {
		t.Fatalf("Writable: %v; want ErrReadOnly", ro)
	}
	for _, want := range []string{view, "read-only file system", "remount", "--store"} {
		if !strings.Contains(ro.Error(), want) {
			t.Errorf("Writable error %q lacks %q", ro, want)
		}
	}
	p, err := s.Path(ctx, "k1")
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(p, "x")); string(b) != "xyz" {
		t.Errorf("read %q", b)
	}
	if keys, err := s.List(ctx); err != nil || len(keys) != 1 || keys[0] != "k1" {
		t.Errorf("List: %v %v", keys, err)
	}
	if err := s.Verify(ctx, "k1"); err != nil {
		t.Errorf("Verify: %v", err)
	}
	if _, err := s.Path(ctx, "k2"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Path of a missing key: %v", err)
	}
	_, e1 := s.NewTemp(ctx, "k2")
	_, e2 := s.Lock(ctx, "k2", storage.LockOptions{})
	e3 := s.Delete(ctx, "k1")
	_, e4 := s.Quarantine(ctx, "k1")
	_, e5 := s.Publish(ctx, "k2", filepath.Join(view, ".tmp", "x", "files"))
	for i, err := range []error{e1, e2, e3, e4, e5} {
		if !errors.Is(err, storage.ErrReadOnly) {
			t.Errorf("write %d on a read-only store: %v; want ErrReadOnly", i+1, err)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "k1", dirstore.MarkerName)); err != nil {
		t.Errorf("the read-only session changed the store: %v", err)
	}

	if g, err := dirstore.Open(ctx, view, dirstore.Options{Exclusive: true}); err == nil {
		g.Close()
		t.Error("an exclusive (lair gc) open of a read-only store succeeded")
	}

	// The read-only session holds the store lock shared: an exclusive
	// session (on the writable path to the same store) must wait.
	gctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if g, err := dirstore.Open(gctx, root, dirstore.Options{Exclusive: true}); err == nil {
		g.Close()
		t.Error("an exclusive open did not wait for the read-only session")
	}
	s.Close()
	g, err := dirstore.Open(ctx, root, dirstore.Options{Exclusive: true})
	if err != nil {
		t.Fatalf("exclusive open after the read-only session closed: %v", err)
	}
	g.Close()
}

// tempEntries lists what is left in the store's temp area besides the
// open sessions' own directories and locks.
func tempEntries(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	sessions, _ := os.ReadDir(filepath.Join(root, ".tmp"))
	for _, s := range sessions {
		if !s.IsDir() {
			continue
		}
		ents, _ := os.ReadDir(filepath.Join(root, ".tmp", s.Name()))
		for _, e := range ents {
			out = append(out, s.Name()+"/"+e.Name())
		}
	}
	return out
}

// TestPublishSeal: publishing seals what a stage wrote in one pass: the
// manifest equals storage.ScanDir of the published files (nested
// directories, names that sort differently as paths, an empty file),
// directories become 0755 and 0600 files 0644 (an executable keeps its
// x bits); a symlink or a FIFO is refused, naming it, without hanging and
// without publishing. Replace leaves nothing of the old artifact behind,
// also when someone put a file into it that its manifest does not list.
func TestPublishSeal(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	s := open(t, root)
	d, _ := s.NewTemp(ctx, "k")
	for _, f := range []struct {
		path string
		mode os.FileMode
		data string
	}{{"a-b", 0o600, "1"}, {"a/b", 0o600, "22"}, {"a/c/d", 0o644, ""}, {"z", 0o700, "run"}} {
		p := filepath.Join(d, filepath.FromSlash(f.path))
		os.MkdirAll(filepath.Dir(p), 0o700)
		if err := os.WriteFile(p, []byte(f.data), f.mode); err != nil {
			t.Fatal(err)
		}
	}
	m, err := s.Publish(ctx, "k", d)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := s.Path(ctx, "k")
	want, err := storage.ScanDir(ctx, "k", p)
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Marshal()) != string(want.Marshal()) {
		t.Errorf("manifest\n%s\nwant (ScanDir)\n%s", m.Marshal(), want.Marshal())
	}
	var paths []string
	for _, f := range m.Files {
		paths = append(paths, f.Path)
	}
	if strings.Join(paths, " ") != "a-b a/b a/c/d z" {
		t.Errorf("manifest order %v", paths)
	}
	for rel, mode := range map[string]os.FileMode{"": 0o755, "a": 0o755, "a/c": 0o755, "a-b": 0o644, "a/b": 0o644, "a/c/d": 0o644, "z": 0o744} {
		fi, err := os.Stat(filepath.Join(p, filepath.FromSlash(rel)))
		if err != nil || fi.Mode().Perm() != mode {
			t.Errorf("%q: mode %v (%v), want %v", rel, fi.Mode().Perm(), err, mode)
		}
	}

	for _, bad := range []string{"link", "fifo"} {
		d, _ := s.NewTemp(ctx, "bad-"+bad)
		os.WriteFile(filepath.Join(d, "ok"), []byte("x"), 0o644)
		target := filepath.Join(d, "sub", bad)
		os.MkdirAll(filepath.Dir(target), 0o755)
		if bad == "link" {
			os.Symlink("../ok", target)
		} else if err := syscall.Mkfifo(target, 0o644); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { _, err := s.Publish(ctx, "bad-"+bad, d); done <- err }()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), target) || !strings.Contains(err.Error(), "not a regular file") {
				t.Errorf("publish with a %s: %v; want an error naming %s", bad, err, target)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("publish with a %s hangs", bad)
		}
		if ok, _ := storage.Has(ctx, s, "bad-"+bad); ok {
			t.Errorf("an artifact with a %s was published", bad)
		}
	}
	if left := tempEntries(t, root); len(left) != 0 {
		t.Errorf("failed publishes left %v in the temp area", left)
	}

	// Replace twice: the second old artifact has a stray file.
	for i, stray := range []bool{false, true} {
		if stray {
			os.WriteFile(filepath.Join(root, "k", "files", "a", "stray"), []byte("x"), 0o644)
		}
		d, _ := s.NewTemp(ctx, "k")
		os.WriteFile(filepath.Join(d, "new"), []byte{byte(i)}, 0o644)
		if _, err := s.Replace(ctx, "k", d); err != nil {
			t.Fatal(err)
		}
		if got := readTree(t, filepath.Join(root, "k")); strings.Join(got, " ") != "_COMPLETE files/new" {
			t.Errorf("after replace %d the key holds %v", i, got)
		}
	}
	// The replaced key directories wait in the session's temp area until
	// the store's directory is synced (at most a second of publishing
	// later, or at Close): the next publish after that removes both, the
	// one with the stray file too.
	time.Sleep(1100 * time.Millisecond)
	d, _ = s.NewTemp(ctx, "other")
	os.WriteFile(filepath.Join(d, "x"), nil, 0o644)
	if _, err := s.Publish(ctx, "other", d); err != nil {
		t.Fatal(err)
	}
	if left := tempEntries(t, root); len(left) != 0 {
		t.Errorf("replaced artifacts left %v in the temp area after the store's directory was synced", left)
	}
}

// readTree lists the files under dir, slash-separated and sorted.
func readTree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	return out
}

// TestPublishManyFiles: an artifact with more files than a seal keeps
// descriptors for (they are synced in batches) publishes the same
// manifest as storage.ScanDir and verifies clean.
func TestPublishManyFiles(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir())
	d, _ := s.NewTemp(ctx, "many")
	for i := range 700 {
		p := filepath.Join(d, fmt.Sprintf("d%d", i%3), fmt.Sprintf("f%03d", i))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(fmt.Sprint(i)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	m, err := s.Publish(ctx, "many", d)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := s.Path(ctx, "many")
	want, err := storage.ScanDir(ctx, "many", p)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Files) != 700 || string(m.Marshal()) != string(want.Marshal()) {
		t.Errorf("manifest of %d files differs from ScanDir's %d", len(m.Files), len(want.Files))
	}
	if err := s.Verify(ctx, "many"); err != nil {
		t.Error(err)
	}
}
