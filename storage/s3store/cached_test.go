package s3store_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/lair-ir/lair/storage"
	"github.com/lair-ir/lair/storage/dirstore"
	"github.com/lair-ir/lair/storage/storetest"
)

// TestCachedConformance runs the store conformance tests against S3 (the
// in-process fake server) behind a local directory cache: each session is
// a machine with its own cache.
func TestCachedConformance(t *testing.T) {
	srv := startServer(t, "lair")
	open := func(t *testing.T, dir, cacheDir string) storage.Store {
		sum := sha256.Sum256([]byte(dir))
		remote := openStore(t, srv, "s3://lair/"+hex.EncodeToString(sum[:6]), nil)
		cache, err := dirstore.Open(context.Background(), cacheDir, dirstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return storage.NewCached(remote, cache)
	}
	storetest.Run(t, storetest.Backend{
		Shared: true,
		Open: func(t *testing.T, dir string) storage.Store {
			cacheDir, err := os.MkdirTemp(dir, "cache-")
			if err != nil {
				t.Fatal(err)
			}
			return open(t, dir, cacheDir)
		},
		OpenLocal: func(t *testing.T, dir string) storage.Store {
			return open(t, dir, filepath.Join(dir, "cache"))
		},
		Damage: func(t *testing.T, s storage.Store, key, rel string) {
			m, err := s.Manifest(context.Background(), key)
			if err != nil {
				t.Fatal(err)
			}
			obj := s.String()[len("s3://lair/"):] + "/" + key + "/" + m.FilesDir() + "/" + rel
			if err := srv.Overwrite("lair", obj, []byte("damaged!!!")); err != nil {
				t.Fatal(err)
			}
		},
	})
}
