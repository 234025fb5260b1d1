package pipeline

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"time"
)

// Store keeps finished artifacts by content address. The local directory
// store is the only implementation today; an object-store backend (S3)
// will implement the same interface.
//
// A stage writes into a directory from NewTemp; Publish makes it the
// artifact of its key atomically, so readers see either nothing or the
// whole artifact.
type Store interface {
	// Has reports whether an artifact with this key exists.
	Has(ctx context.Context, key string) (bool, error)
	// Dir returns a local directory holding the artifact's files. It
	// fails with fs.ErrNotExist when there is no such artifact.
	Dir(ctx context.Context, key string) (string, error)
	// NewTemp returns an empty directory to write the artifact of key into.
	NewTemp(ctx context.Context, key string) (string, error)
	// Publish makes the temp directory the artifact of key, replacing any
	// artifact already there (as --force does). The temp directory is gone
	// afterwards.
	Publish(ctx context.Context, key, tmp string) error
	// Discard removes a temp directory that will not be published.
	Discard(tmp string) error
	// Lock takes the build lock of key, waiting while another run (in this
	// or another process) holds it, until ctx ends.
	Lock(ctx context.Context, key string) (unlock func(), err error)
	// List returns every key in the store, sorted.
	List(ctx context.Context) ([]string, error)
	// Delete removes the artifact of key; a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// Close releases the store's locks and temp space.
	Close() error
}

var keyRE = regexp.MustCompile(`^[0-9A-Za-z_-]{1,128}$`)

func checkKey(key string) error {
	if !keyRE.MatchString(key) {
		return fmt.Errorf("store: invalid key %q", key)
	}
	return nil
}

// LocalStore is a Store in a directory:
//
//	ROOT/objects/<key>/      finished artifacts (read-only by convention)
//	ROOT/tmp/<session>/      temp dirs of one open store; removed on Close
//	ROOT/tmp/<session>.lock  flock held while that session is alive
//	ROOT/locks/<key>.lock    per-key build locks (flock)
//	ROOT/store.lock          shared by runs, exclusive for gc
//
// Two runs may share a store at once: each takes the per-key lock before
// building an artifact, so the second waits for the first and then reuses
// its result. Temp dirs whose session lock is free belong to killed runs
// and are removed when a store is opened.
type LocalStore struct {
	root    string
	session string
	sessDir string
	sessF   *os.File
	storeF  *os.File
}

// OpenOptions change how a LocalStore is opened.
type OpenOptions struct {
	// Exclusive waits for every other user of the store to close it and
	// keeps them out until Close (gc uses it). Otherwise the store is
	// opened shared.
	Exclusive bool
}

// OpenLocalStore opens (creating it if needed) the store at root and
// removes stale temp dirs left by killed runs.
func OpenLocalStore(ctx context.Context, root string, opts OpenOptions) (*LocalStore, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", root, err)
	}
	for _, d := range []string{"objects", "tmp", "locks"} {
		if err := os.MkdirAll(filepath.Join(abs, d), 0o755); err != nil {
			return nil, fmt.Errorf("store %s: %w", abs, err)
		}
	}
	s := &LocalStore{root: abs}
	how := syscall.LOCK_SH
	if opts.Exclusive {
		how = syscall.LOCK_EX
	}
	s.storeF, err = lockFile(ctx, filepath.Join(abs, "store.lock"), how)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", abs, err)
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	s.session = fmt.Sprintf("%d-%s", os.Getpid(), hex.EncodeToString(rnd[:]))
	s.sessF, err = lockFile(ctx, filepath.Join(abs, "tmp", s.session+".lock"), syscall.LOCK_EX)
	if err != nil {
		s.storeF.Close()
		return nil, fmt.Errorf("store %s: %w", abs, err)
	}
	s.sessDir = filepath.Join(abs, "tmp", s.session)
	if err := os.Mkdir(s.sessDir, 0o755); err != nil {
		s.Close()
		return nil, fmt.Errorf("store %s: %w", abs, err)
	}
	s.cleanStale()
	return s, nil
}

// Root returns the store's directory.
func (s *LocalStore) Root() string { return s.root }

// lockFile opens path and flocks it, polling so that ctx can end the wait.
// It makes sure the locked file is still the one at path (a cleaner may
// have removed it in between).
func lockFile(ctx context.Context, path string, how int) (*os.File, error) {
	for {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
		if err != nil {
			return nil, err
		}
		wait := 5 * time.Millisecond
		for {
			err = syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
			if err == nil {
				break
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
		fi, err1 := f.Stat()
		pi, err2 := os.Stat(path)
		if err1 == nil && err2 == nil && os.SameFile(fi, pi) {
			return f, nil
		}
		f.Close() // removed under us: try again
	}
}

// cleanStale removes temp dirs of sessions whose lock is free: their
// process is gone.
func (s *LocalStore) cleanStale() {
	tmp := filepath.Join(s.root, "tmp")
	ents, err := os.ReadDir(tmp)
	if err != nil {
		return
	}
	for _, e := range ents {
		name := e.Name()
		sess := strings.TrimSuffix(name, ".lock")
		if sess == s.session {
			continue
		}
		if strings.HasSuffix(name, ".lock") {
			f, err := os.OpenFile(filepath.Join(tmp, name), os.O_RDWR, 0)
			if err != nil {
				continue
			}
			if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil {
				os.RemoveAll(filepath.Join(tmp, sess))
				os.Remove(filepath.Join(tmp, name))
			}
			f.Close()
			continue
		}
		// A directory without a lock file: its session is gone.
		if _, err := os.Stat(filepath.Join(tmp, name+".lock")); errors.Is(err, fs.ErrNotExist) {
			os.RemoveAll(filepath.Join(tmp, name))
		}
	}
}

func (s *LocalStore) objDir(key string) string { return filepath.Join(s.root, "objects", key) }

// Has implements Store.
func (s *LocalStore) Has(_ context.Context, key string) (bool, error) {
	if err := checkKey(key); err != nil {
		return false, err
	}
	fi, err := os.Stat(s.objDir(key))
	if err == nil {
		return fi.IsDir(), nil
	}
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return false, fmt.Errorf("store: %w", err)
}

// Dir implements Store.
func (s *LocalStore) Dir(ctx context.Context, key string) (string, error) {
	ok, err := s.Has(ctx, key)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", fmt.Errorf("store %s: artifact %s: %w", s.root, key, fs.ErrNotExist)
	}
	return s.objDir(key), nil
}

// NewTemp implements Store.
func (s *LocalStore) NewTemp(_ context.Context, key string) (string, error) {
	if err := checkKey(key); err != nil {
		return "", err
	}
	d, err := os.MkdirTemp(s.sessDir, key[:min(12, len(key))]+"-")
	if err != nil {
		return "", fmt.Errorf("store: %w", err)
	}
	return d, nil
}

// Discard implements Store.
func (s *LocalStore) Discard(tmp string) error {
	if !strings.HasPrefix(tmp, s.sessDir+string(filepath.Separator)) {
		return fmt.Errorf("store: %s is not a temp dir of this store", tmp)
	}
	return os.RemoveAll(tmp)
}

// syncTree fsyncs every file and directory under dir.
func syncTree(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && !d.Type().IsRegular() {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := f.Sync(); err != nil && !d.IsDir() {
			return fmt.Errorf("fsync %s: %w", p, err)
		}
		return nil
	})
}

// Publish implements Store: it fsyncs the files, then renames the temp dir
// into place.
func (s *LocalStore) Publish(_ context.Context, key, tmp string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if !strings.HasPrefix(tmp, s.sessDir+string(filepath.Separator)) {
		return fmt.Errorf("store: %s is not a temp dir of this store", tmp)
	}
	if err := syncTree(tmp); err != nil {
		return fmt.Errorf("store: publish %s: %w", key, err)
	}
	dst := s.objDir(key)
	if _, err := os.Lstat(dst); err == nil {
		// Replace: move the old artifact aside first, then drop it.
		old, err := os.MkdirTemp(s.sessDir, "old-")
		if err != nil {
			return fmt.Errorf("store: publish %s: %w", key, err)
		}
		if err := os.Rename(dst, filepath.Join(old, "a")); err != nil {
			return fmt.Errorf("store: publish %s: %w", key, err)
		}
		defer os.RemoveAll(old)
	}
	if err := os.Rename(tmp, dst); err != nil {
		return fmt.Errorf("store: publish %s: %w", key, err)
	}
	// The parent directory is not fsynced: after a crash a publish may be
	// lost (the stage then runs again) but never seen half done.
	return nil
}

// Lock implements Store with a flock on ROOT/locks/<key>.lock.
func (s *LocalStore) Lock(ctx context.Context, key string) (func(), error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	f, err := lockFile(ctx, filepath.Join(s.root, "locks", key+".lock"), syscall.LOCK_EX)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return func() { f.Close() }, nil
}

// List implements Store.
func (s *LocalStore) List(_ context.Context) ([]string, error) {
	ents, err := os.ReadDir(filepath.Join(s.root, "objects"))
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() && keyRE.MatchString(e.Name()) {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out, nil
}

// Delete implements Store: the artifact is renamed away atomically, then
// removed.
func (s *LocalStore) Delete(_ context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	dst := s.objDir(key)
	if _, err := os.Lstat(dst); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	old, err := os.MkdirTemp(s.sessDir, "del-")
	if err != nil {
		return fmt.Errorf("store: delete %s: %w", key, err)
	}
	if err := os.Rename(dst, filepath.Join(old, "a")); err != nil {
		return fmt.Errorf("store: delete %s: %w", key, err)
	}
	os.Remove(filepath.Join(s.root, "locks", key+".lock"))
	return os.RemoveAll(old)
}

// Close implements Store: it removes this session's temp space and
// releases its locks.
func (s *LocalStore) Close() error {
	var err error
	if s.sessDir != "" {
		err = os.RemoveAll(s.sessDir)
	}
	if s.sessF != nil {
		os.Remove(s.sessF.Name())
		s.sessF.Close()
	}
	if s.storeF != nil {
		s.storeF.Close()
	}
	return err
}

// dirSize returns the total size of the regular files under dir.
func dirSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}
