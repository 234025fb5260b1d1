package dirstore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/lair-ir/lair/storage"
	"github.com/lair-ir/lair/storage/dirstore"
)

func TestDirStore(t *testing.T) {
	ctx := context.Background()
	s := dirstore.New(filepath.Join(t.TempDir(), "store"))
	if err := s.Check(ctx); err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	os.MkdirAll(filepath.Join(src, "d"), 0o755)
	os.WriteFile(filepath.Join(src, "d", "x"), []byte("xyz"), 0o644)
	if ok, _ := storage.Has(ctx, s, "k"); ok {
		t.Fatal("Has before Publish")
	}
	if _, err := s.Fetch(ctx, "k", filepath.Join(t.TempDir(), "a")); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Fetch of a missing key: %v", err)
	}
	m, err := s.Publish(ctx, "k", src)
	if err != nil || len(m.Files) != 1 {
		t.Fatalf("Publish = %v, %v", m, err)
	}
	dst := filepath.Join(t.TempDir(), "a")
	if _, err := s.Fetch(ctx, "k", dst); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "d", "x")); string(b) != "xyz" {
		t.Errorf("fetched %q", b)
	}
	// A key directory without its marker (a crash between copy and
	// rename cannot make one, but a hand-made one can) is not trusted.
	os.MkdirAll(filepath.Join(s.String(), "half", "files"), 0o755)
	if ok, _ := storage.Has(ctx, s, "half"); ok {
		t.Error("key without marker is visible")
	}
	// Damage is detected.
	os.WriteFile(filepath.Join(s.Dir("k"), "d", "x"), []byte("xyZ"), 0o644)
	if _, err := s.Fetch(ctx, "k", filepath.Join(t.TempDir(), "b")); err == nil {
		t.Error("Fetch of a damaged artifact: no error")
	}
}

func TestCheckUnwritable(t *testing.T) {
	if os.Geteuid() == 0 {
		// root writes anywhere; use a path under a regular file instead.
		f := filepath.Join(t.TempDir(), "file")
		os.WriteFile(f, nil, 0o644)
		if err := dirstore.New(filepath.Join(f, "store")).Check(context.Background()); err == nil {
			t.Error("Check under a file: no error")
		}
		return
	}
	dir := t.TempDir()
	os.Chmod(dir, 0o500)
	defer os.Chmod(dir, 0o700)
	if err := dirstore.New(filepath.Join(dir, "store")).Check(context.Background()); err == nil {
		t.Error("Check of an unwritable directory: no error")
	}
}

func TestListDelete(t *testing.T) {
	ctx := context.Background()
	s := dirstore.New(filepath.Join(t.TempDir(), "store"))
	if keys, err := s.List(ctx); err != nil || len(keys) != 0 {
		t.Fatalf("List of a new store = %v, %v", keys, err)
	}
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "x"), []byte("1"), 0o644)
	for _, k := range []string{"b", "a"} {
		if _, err := s.Publish(ctx, k, src); err != nil {
			t.Fatal(err)
		}
	}
	if keys, _ := s.List(ctx); len(keys) != 2 || keys[0] != "a" {
		t.Fatalf("List = %v", keys)
	}
	if err := s.Delete(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if keys, _ := s.List(ctx); len(keys) != 1 || keys[0] != "b" {
		t.Fatalf("List after Delete = %v", keys)
	}
}
