package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/lair-ir/lair/pipeline"
	"github.com/lair-ir/lair/storage"
	"github.com/lair-ir/lair/storage/stores"
)

// Store is a pipeline.Store over a shared storage.Backend.
type Store struct {
	backend storage.Backend
	cache   string
	tmp     string // this store's temp area, removed on Close
	// seen holds the manifest the last Has or Publish of a key saw, so
	// that the Dir right after it needs no second request; Dir uses it
	// once.
	seen sync.Map // key -> *storage.Manifest
}

var _ pipeline.Store = (*Store)(nil)

// New wraps backend with a local cache directory (created if missing).
func New(backend storage.Backend, cacheDir string) (*Store, error) {
	abs, err := filepath.Abs(cacheDir)
	if err != nil {
		return nil, err
	}
	for _, d := range []string{"objects", "manifests", "tmp", "locks"} {
		if err := os.MkdirAll(filepath.Join(abs, d), 0o755); err != nil {
			return nil, fmt.Errorf("store cache %s: %w", abs, err)
		}
	}
	tmp, err := os.MkdirTemp(filepath.Join(abs, "tmp"), fmt.Sprintf("%d-", os.Getpid()))
	if err != nil {
		return nil, fmt.Errorf("store cache %s: %w", abs, err)
	}
	return &Store{backend: backend, cache: abs, tmp: tmp}, nil
}

// Open opens the store at url (see package stores), checks it (one clear
// error for an unreachable store, rejected credentials or a missing
// bucket) and wraps it with the cache directory cacheDir.
func Open(ctx context.Context, url, cacheDir string) (*Store, error) {
	b, err := stores.Open(url)
	if err != nil {
		return nil, err
	}
	if err := b.Check(ctx); err != nil {
		return nil, err
	}
	return New(b, cacheDir)
}

// Backend returns the shared store.
func (s *Store) Backend() storage.Backend { return s.backend }

// String names the shared store.
func (s *Store) String() string { return s.backend.String() }

// Has implements pipeline.Store: is key published in the shared store?
func (s *Store) Has(ctx context.Context, key string) (bool, error) {
	m, err := s.backend.Manifest(ctx, key)
	if errors.Is(err, storage.ErrNotFound) {
		s.seen.Delete(key)
		return false, nil
	}
	if err != nil {
		return false, err
	}
	s.seen.Store(key, m)
	return true, nil
}

// manifest returns key's manifest: the one the last Has or Publish of key
// saw, used once (the executor calls Dir right after Has), else the shared
// store's.
func (s *Store) manifest(ctx context.Context, key string) (*storage.Manifest, error) {
	if m, ok := s.seen.LoadAndDelete(key); ok {
		return m.(*storage.Manifest), nil
	}
	return s.backend.Manifest(ctx, key)
}

func (s *Store) objDir(key string) string  { return filepath.Join(s.cache, "objects", key) }
func (s *Store) manPath(key string) string { return filepath.Join(s.cache, "manifests", key+".json") }

// Dir implements pipeline.Store: a verified local copy of key.
func (s *Store) Dir(ctx context.Context, key string) (string, error) {
	m, err := s.manifest(ctx, key)
	if errors.Is(err, storage.ErrNotFound) {
		return "", fmt.Errorf("store %s: artifact %s: %w", s.backend, key, fs.ErrNotExist)
	}
	if err != nil {
		return "", err
	}
	dir := s.objDir(key)
	if s.fresh(key, m) {
		return dir, nil
	}
	// Missing or stale: fetch, one goroutine or process at a time (stages
	// that share an input ask for it at once).
	unlock, err := s.lock(ctx, key+".fetch")
	if err != nil {
		return "", err
	}
	defer unlock()
	if s.fresh(key, m) {
		return dir, nil
	}
	if err := s.dropLocal(key); err != nil {
		return "", err
	}
	fetched, err := s.backend.Fetch(ctx, key, dir)
	if err != nil {
		return "", err
	}
	m = fetched // what was verified, even if replaced since Has
	if err := writeAtomic(s.manPath(key), m.Marshal()); err != nil {
		return "", err
	}
	return dir, nil
}

// fresh reports whether the local copy of key was fetched under manifest m.
func (s *Store) fresh(key string, m *storage.Manifest) bool {
	have, err := os.ReadFile(s.manPath(key))
	if err != nil || !bytes.Equal(have, m.Marshal()) {
		return false
	}
	_, err = os.Stat(s.objDir(key))
	return err == nil
}

// dropLocal removes the local copy of key, if any.
func (s *Store) dropLocal(key string) error {
	os.Remove(s.manPath(key))
	dir := s.objDir(key)
	if _, err := os.Lstat(dir); err != nil {
		return nil
	}
	old, err := os.MkdirTemp(s.tmp, "old-")
	if err != nil {
		return err
	}
	if err := os.Rename(dir, filepath.Join(old, "a")); err != nil {
		return fmt.Errorf("store cache %s: %w", s.cache, err)
	}
	return os.RemoveAll(old)
}

func writeAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-")
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return err
	}
	return os.Rename(f.Name(), path)
}

// NewTemp implements pipeline.Store.
func (s *Store) NewTemp(_ context.Context, key string) (string, error) {
	if err := storage.CheckKey(key); err != nil {
		return "", err
	}
	return os.MkdirTemp(s.tmp, key[:min(12, len(key))]+"-")
}

// Discard implements pipeline.Store.
func (s *Store) Discard(tmp string) error {
	if !strings.HasPrefix(tmp, s.tmp+string(filepath.Separator)) {
		return fmt.Errorf("store: %s is not a temp dir of this store", tmp)
	}
	return os.RemoveAll(tmp)
}

// Publish implements pipeline.Store: upload (replacing a published key, as
// --force wants), then keep tmp as the local copy.
func (s *Store) Publish(ctx context.Context, key, tmp string) error {
	if !strings.HasPrefix(tmp, s.tmp+string(filepath.Separator)) {
		return fmt.Errorf("store: %s is not a temp dir of this store", tmp)
	}
	if ok, err := s.Has(ctx, key); err != nil {
		return err
	} else if ok {
		if err := s.backend.Delete(ctx, key); err != nil {
			return err
		}
	}
	s.seen.Delete(key)
	m, err := s.backend.Publish(ctx, key, tmp)
	if err != nil {
		return err
	}
	s.seen.Store(key, m)
	if err := s.dropLocal(key); err != nil {
		return err
	}
	if err := os.Rename(tmp, s.objDir(key)); err != nil {
		return fmt.Errorf("store cache %s: %w", s.cache, err)
	}
	return writeAtomic(s.manPath(key), m.Marshal())
}

// Lock implements pipeline.Store with a flock in the cache directory: it
// keeps runs on this machine from building the same key twice.
func (s *Store) Lock(ctx context.Context, key string) (func(), error) {
	if err := storage.CheckKey(key); err != nil {
		return nil, err
	}
	return s.lock(ctx, key)
}

// lock flocks CACHE/locks/<name>.lock. Each call opens the file anew, so
// goroutines of one process exclude each other too.
func (s *Store) lock(ctx context.Context, name string) (func(), error) {
	path := filepath.Join(s.cache, "locks", name+".lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	wait := 5 * time.Millisecond
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("waiting for lock %s: %w", path, ctx.Err())
		case <-time.After(wait):
		}
		wait = min(wait*2, 100*time.Millisecond)
	}
}

// List implements pipeline.Store: the shared store's keys.
func (s *Store) List(ctx context.Context) ([]string, error) { return s.backend.List(ctx) }

// Delete implements pipeline.Store: from the shared store and the cache.
func (s *Store) Delete(ctx context.Context, key string) error {
	s.seen.Delete(key)
	if err := s.backend.Delete(ctx, key); err != nil {
		return err
	}
	return s.dropLocal(key)
}

// Close implements pipeline.Store: it removes this store's temp area.
func (s *Store) Close() error { return os.RemoveAll(s.tmp) }

// OpenPipelineStore is what `lair run --store VALUE` needs: a plain
// directory path opens pipeline's LocalStore as before; a URL
// (s3://bucket/prefix, file:///dir) opens that shared store, checks it, and
// caches artifacts under cacheDir.
func OpenPipelineStore(ctx context.Context, value, cacheDir string) (pipeline.Store, error) {
	if !strings.Contains(value, "://") {
		return pipeline.OpenLocalStore(ctx, value, pipeline.OpenOptions{})
	}
	return Open(ctx, value, cacheDir)
}
