package dirstore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
