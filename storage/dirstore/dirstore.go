package dirstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/lair-ir/lair/storage"
)

// MarkerName is the marker file inside a key directory.
const MarkerName = "_COMPLETE"

// Store is a directory-backed storage.Backend.
type Store struct {
	root string
}

var _ storage.Backend = (*Store)(nil)

// New returns a store rooted at dir (created by Check or Publish when
// missing).
func New(dir string) *Store { return &Store{root: dir} }

// String returns the store's root directory.
func (s *Store) String() string { return s.root }

// Check creates the root directory if needed and checks that it is a
// writable directory.
func (s *Store) Check(ctx context.Context) error {
	if err := os.MkdirAll(filepath.Join(s.root, ".tmp"), 0o755); err != nil {
		return fmt.Errorf("store %s: %w", s.root, err)
	}
	f, err := os.CreateTemp(filepath.Join(s.root, ".tmp"), "check-")
	if err != nil {
		return fmt.Errorf("store %s: not writable: %w", s.root, err)
	}
	f.Close()
	return os.Remove(f.Name())
}

// Manifest returns the manifest of a published key.
func (s *Store) Manifest(ctx context.Context, key string) (*storage.Manifest, error) {
	if err := storage.CheckKey(key); err != nil {
		return nil, err
	}
	p := filepath.Join(s.root, key, MarkerName)
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("store %s: key %s: %w", s.root, key, storage.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", s.root, err)
	}
	m, err := storage.ParseManifest(data, key)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return m, nil
}

// Fetch copies a published artifact into dst, verifying every file.
func (s *Store) Fetch(ctx context.Context, key, dst string) (*storage.Manifest, error) {
	m, err := s.Manifest(ctx, key)
	if err != nil {
		return nil, err
	}
	files := filepath.Join(s.root, key, "files")
	err = storage.FetchInto(ctx, m, dst, 2, func(ctx context.Context, f storage.File) (io.ReadCloser, error) {
		return os.Open(filepath.Join(files, filepath.FromSlash(f.Path)))
	})
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", s.root, err)
	}
	return m, nil
}

// Dir returns the directory holding a published key's files, for readers on
// the same machine that need no copy.
func (s *Store) Dir(key string) string { return filepath.Join(s.root, key, "files") }

// Publish copies the files of src under key and renames the key directory
// into place. A key already published is left as it is.
func (s *Store) Publish(ctx context.Context, key, src string) (*storage.Manifest, error) {
	if err := storage.CheckKey(key); err != nil {
		return nil, err
	}
	if m, err := s.Manifest(ctx, key); err == nil {
		return m, nil
	} else if !errors.Is(err, storage.ErrNotFound) {
		return nil, err
	}
	m, err := storage.ScanDir(ctx, key, src)
	if err != nil {
		return nil, err
	}
	tmpRoot := filepath.Join(s.root, ".tmp")
	if err := os.MkdirAll(tmpRoot, 0o755); err != nil {
		return nil, fmt.Errorf("store %s: %w", s.root, err)
	}
	tmp, err := os.MkdirTemp(tmpRoot, key+"-")
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", s.root, err)
	}
	defer os.RemoveAll(tmp)
	for _, f := range m.Files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := copyFile(filepath.Join(src, filepath.FromSlash(f.Path)), filepath.Join(tmp, "files", filepath.FromSlash(f.Path))); err != nil {
			return nil, fmt.Errorf("publish %s into %s: %w", key, s.root, err)
		}
	}
	if err := os.WriteFile(filepath.Join(tmp, MarkerName), m.Marshal(), 0o644); err != nil {
		return nil, fmt.Errorf("publish %s into %s: %w", key, s.root, err)
	}
	if err := os.Rename(tmp, filepath.Join(s.root, key)); err != nil {
		// Someone else published the same key first: theirs is as good.
		if other, merr := s.Manifest(ctx, key); merr == nil {
			return other, nil
		}
		return nil, fmt.Errorf("publish %s into %s: %w", key, s.root, err)
	}
	return m, nil
}

func copyFile(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// List returns every published key, sorted.
func (s *Store) List(ctx context.Context) ([]string, error) {
	ents, err := os.ReadDir(s.root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", s.root, err)
	}
	var keys []string
	for _, e := range ents {
		if !e.IsDir() || storage.CheckKey(e.Name()) != nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(s.root, e.Name(), MarkerName)); err == nil {
			keys = append(keys, e.Name())
		}
	}
	sort.Strings(keys)
	return keys, nil
}

// Delete removes key's marker, then its directory.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := storage.CheckKey(key); err != nil {
		return err
	}
	dir := filepath.Join(s.root, key)
	if err := os.Remove(filepath.Join(dir, MarkerName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("store %s: delete %s: %w", s.root, key, err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("store %s: delete %s: %w", s.root, key, err)
	}
	return nil
}
