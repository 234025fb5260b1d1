package dirstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/lair-ir/lair/internal/fsutil"
	"github.com/lair-ir/lair/storage"
)

// MarkerName is the marker file inside a key directory.
const MarkerName = "_COMPLETE"

// Store is a directory-backed storage.Store. Open one with Open.
type Store struct {
	root      string
	session   string
	sessDir   string
	sessLock  *fsutil.Lock
	storeLock *fsutil.Lock
	// readOnly is set (wrapping storage.ErrReadOnly) when the store was
	// opened read-only: then there is no session (no temp area, no
	// session lock) and writing methods return it.
	readOnly error
	rs       rootSync
}

var _ storage.Store = (*Store)(nil)

// Options change how a store is opened.
type Options struct {
	// Exclusive waits for every other session of the store to close and
	// keeps new ones out until Close (lair gc uses it). Otherwise the
	// store is opened shared.
	Exclusive bool
	// OnWait, when set, is called once if the store lock is held by
	// another session and Open has to wait for it.
	OnWait func()
}

// Open opens (creating it if needed) the store at root, starts a session
// and removes temp dirs left by killed sessions.
//
// A store that exists but cannot be written (a read-only file system, or
// a shared store this user may only read) opens read-only, unless
// opts.Exclusive: its artifacts can be read, and everything that would
// write fails with an error wrapping storage.ErrReadOnly (see Writable).
func Open(ctx context.Context, root string, opts Options) (*Store, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", root, err)
	}
	s, err := openWritable(ctx, abs, opts)
	if err == nil || opts.Exclusive || !cannotWrite(err) {
		return s, err
	}
	if fi, serr := os.Stat(abs); serr != nil || !fi.IsDir() {
		return nil, err
	}
	return openReadOnly(ctx, abs, opts, err)
}

// cannotWrite reports whether err says the file system or the
// permissions forbid writing.
func cannotWrite(err error) bool {
	return errors.Is(err, syscall.EROFS) || errors.Is(err, fs.ErrPermission)
}

func openWritable(ctx context.Context, abs string, opts Options) (*Store, error) {
	for _, d := range []string{".tmp", ".locks"} {
		if err := os.MkdirAll(filepath.Join(abs, d), 0o755); err != nil {
			return nil, fmt.Errorf("store %s: %w (check the path and its permissions, or pass another --store)", abs, err)
		}
	}
	s := &Store{root: abs}
	var once sync.Once
	var err error
	s.storeLock, err = fsutil.Acquire(ctx, filepath.Join(abs, ".store.lock"), fsutil.LockOptions{
		Shared: !opts.Exclusive,
		Note:   "lair gc",
		OnWait: func(fsutil.Holder) {
			if opts.OnWait != nil {
				once.Do(opts.OnWait)
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", abs, err)
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	s.session = fmt.Sprintf("%d-%s", os.Getpid(), hex.EncodeToString(rnd[:]))
	s.sessLock, err = fsutil.Acquire(ctx, filepath.Join(abs, ".tmp", s.session+".lock"), fsutil.LockOptions{Note: "lair session"})
	if err != nil {
		s.storeLock.Unlock()
		return nil, fmt.Errorf("store %s: %w", abs, err)
	}
	s.sessDir = filepath.Join(abs, ".tmp", s.session)
	if err := os.Mkdir(s.sessDir, 0o755); err != nil {
		s.Close()
		return nil, fmt.Errorf("store %s: %w", abs, err)
	}
	s.cleanStale()
	return s, nil
}

// openReadOnly opens the store at abs for reading only; why is the error
// that writing gave. When the store lock file exists it is taken shared
// (opened read-only), so a lair gc on this machine still waits for the
// session to end.
func openReadOnly(ctx context.Context, abs string, opts Options, why error) (*Store, error) {
	if _, err := os.ReadDir(abs); err != nil {
		return nil, fmt.Errorf("store %s: cannot be written (%v) nor read: %w", abs, why, err)
	}
	cause := errors.Unwrap(why)
	if cause == nil {
		cause = why
	}
	s := &Store{root: abs, readOnly: fmt.Errorf("store %s is %w (%v): remount it read-write, or pass --store with a writable directory",
		abs, storage.ErrReadOnly, cause)}
	var once sync.Once
	l, err := fsutil.Acquire(ctx, filepath.Join(abs, ".store.lock"), fsutil.LockOptions{
		Shared: true, ReadOnly: true,
		OnWait: func(fsutil.Holder) {
			if opts.OnWait != nil {
				once.Do(opts.OnWait)
			}
		},
	})
	switch {
	case err == nil:
		s.storeLock = l
	case errors.Is(err, fs.ErrNotExist), cannotWrite(err):
		// No lock file (nothing to exclude: no gc could write here
		// either), or one this user may not even read.
	default:
		return nil, fmt.Errorf("store %s: %w", abs, err)
	}
	return s, nil
}

// Writable returns nil, or for a store opened read-only an error wrapping
// storage.ErrReadOnly that names it and says what to do.
func (s *Store) Writable() error { return s.readOnly }

// Root returns the store's directory.
func (s *Store) Root() string { return s.root }

// String returns the store's directory.
func (s *Store) String() string { return s.root }

// Check checks that the store's directory is writable, or readable when
// the store was opened read-only.
func (s *Store) Check(ctx context.Context) error {
	if s.readOnly != nil {
		if _, err := os.ReadDir(s.root); err != nil {
			return fmt.Errorf("store %s: not readable: %w (check its permissions, or pass another --store)", s.root, err)
		}
		return nil
	}
	f, err := os.CreateTemp(s.sessDir, "check-")
	if err != nil {
		return fmt.Errorf("store %s: not writable: %w (check its permissions, or pass another --store)", s.root, err)
	}
	f.Close()
	return os.Remove(f.Name())
}

func (s *Store) keyDir(key string) string { return filepath.Join(s.root, key) }

// Manifest returns the manifest of a published key.
func (s *Store) Manifest(ctx context.Context, key string) (*storage.Manifest, error) {
	if err := storage.CheckKey(key); err != nil {
		return nil, err
	}
	p := filepath.Join(s.keyDir(key), MarkerName)
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("store %s: key %s: %w", s.root, key, storage.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", s.root, err)
	}
	m, err := storage.ParseManifest(data, key)
	if err != nil {
		return nil, fmt.Errorf("%s: %w (run lair verify to quarantine it)", p, err)
	}
	return m, nil
}

// Path returns the directory holding a published key's files: one stat.
func (s *Store) Path(ctx context.Context, key string) (string, error) {
	if err := storage.CheckKey(key); err != nil {
		return "", err
	}
	kd := s.keyDir(key)
	if _, err := os.Stat(filepath.Join(kd, MarkerName)); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("store %s: key %s: %w", s.root, key, storage.ErrNotFound)
		}
		return "", fmt.Errorf("store %s: %w", s.root, err)
	}
	return filepath.Join(kd, "files"), nil
}

// NewTemp returns an empty directory in this session's temp area.
func (s *Store) NewTemp(_ context.Context, key string) (string, error) {
	if err := storage.CheckKey(key); err != nil {
		return "", err
	}
	if s.readOnly != nil {
		return "", s.readOnly
	}
	// The temp dir is <kd>/files, where <kd> becomes the key directory:
	// Publish only adds the marker beside it and renames <kd>.
	kd, err := os.MkdirTemp(s.sessDir, key[:min(12, len(key))]+"-")
	if err != nil {
		return "", fmt.Errorf("store %s: %w", s.root, err)
	}
	d := filepath.Join(kd, "files")
	if err := os.Mkdir(d, 0o755); err != nil {
		os.RemoveAll(kd)
		return "", fmt.Errorf("store %s: %w", s.root, err)
	}
	return d, nil
}

// keyDirOf returns the key directory a NewTemp dir was made in, or "".
func (s *Store) keyDirOf(dir string) string {
	kd := filepath.Dir(dir)
	if filepath.Base(dir) == "files" && filepath.Dir(kd) == s.sessDir {
		return kd
	}
	return ""
}

func (s *Store) inSession(dir string) error {
	if s.readOnly != nil {
		return s.readOnly
	}
	if !strings.HasPrefix(dir, s.sessDir+string(filepath.Separator)) {
		return fmt.Errorf("store %s: %s is not a temp dir of this session", s.root, dir)
	}
	return nil
}

// Discard removes a temp dir of this session.
func (s *Store) Discard(dir string) error {
	if err := s.inSession(dir); err != nil {
		return err
	}
	if kd := s.keyDirOf(dir); kd != "" {
		return os.RemoveAll(kd)
	}
	return os.RemoveAll(dir)
}

// Publish implements storage.Store.
func (s *Store) Publish(ctx context.Context, key, dir string) (*storage.Manifest, error) {
	return s.publish(ctx, key, dir, false)
}

// Replace implements storage.Store.
func (s *Store) Replace(ctx context.Context, key, dir string) (*storage.Manifest, error) {
	return s.publish(ctx, key, dir, true)
}

func (s *Store) publish(ctx context.Context, key, dir string, replace bool) (*storage.Manifest, error) {
	if err := storage.CheckKey(key); err != nil {
		return nil, err
	}
	if err := s.inSession(dir); err != nil {
		return nil, err
	}
	if !replace {
		if m, err := s.Manifest(ctx, key); err == nil {
			s.Discard(dir)
			return m, nil
		} else if !errors.Is(err, storage.ErrNotFound) {
			return nil, err
		}
	}
	fail := func(err error) (*storage.Manifest, error) {
		return nil, fmt.Errorf("store %s: publish %s: %w", s.root, key, err)
	}
	kd := s.keyDirOf(dir)
	if kd == "" {
		// Not a NewTemp dir (a fetched copy): put it into a key directory.
		var err error
		if kd, err = os.MkdirTemp(s.sessDir, "pub-"); err != nil {
			return fail(err)
		}
		if err := os.Rename(dir, filepath.Join(kd, "files")); err != nil {
			os.RemoveAll(kd)
			return fail(err)
		}
	}
	// Every file and directory is made group-readable, hashed and fsynced
	// in one pass, then the marker is written and fsynced: the key
	// directory is complete on disk before it is renamed into place.
	m, err := seal(ctx, key, kd)
	if err != nil {
		os.RemoveAll(kd)
		return fail(err)
	}
	// Renamed without replacing (another session's artifact wins), or
	// swapped with the old one in one step.
	dst := s.keyDir(key)
	if replace {
		old, err := fsutil.ExchangeDir(kd, dst)
		if err != nil {
			os.RemoveAll(kd)
			return fail(err)
		}
		if err := s.renamed(old, key); err != nil {
			return fail(err)
		}
		return m, nil
	}
	err = fsutil.RenameNoReplace(kd, dst)
	if errors.Is(err, fs.ErrExist) {
		// Published meanwhile by another session: theirs is as good.
		os.RemoveAll(kd)
		return s.Manifest(ctx, key)
	}
	if err != nil {
		os.RemoveAll(kd)
		return fail(err)
	}
	if err := s.renamed("", key); err != nil {
		return fail(err)
	}
	return m, nil
}

// rootSyncEvery bounds how long a publish (a rename in the store's
// directory) stays unsynced while a session keeps publishing.
const rootSyncEvery = time.Second

// rootSync batches the fsyncs of the store's directory: every publish
// renames a key directory into it, and one fsync covers every rename
// before it.
type rootSync struct {
	mu    sync.Mutex
	dirty bool
	last  time.Time
	old   []oldDir // replaced key directories, removed once the root is synced
}

type oldDir struct{ dir, key string }

// renamed records a rename into the store's directory (and, after a
// Replace, where the old key directory went) and syncs the directory
// when the last sync is rootSyncEvery old.
func (s *Store) renamed(old, key string) error {
	s.rs.mu.Lock()
	s.rs.dirty = true
	if old != "" {
		s.rs.old = append(s.rs.old, oldDir{old, key})
	}
	due := time.Since(s.rs.last) >= rootSyncEvery
	s.rs.mu.Unlock()
	if due {
		return s.syncRoot()
	}
	return nil
}

// syncRoot fsyncs the store's directory if a rename is pending, then
// removes the replaced key directories: only after the exchange that
// moved them out is durable, so a crash can bring back the old artifact
// but never a half-removed one.
func (s *Store) syncRoot() error {
	s.rs.mu.Lock()
	if !s.rs.dirty {
		s.rs.mu.Unlock()
		return nil
	}
	old := s.rs.old
	s.rs.old, s.rs.dirty, s.rs.last = nil, false, time.Now()
	s.rs.mu.Unlock()
	if err := fsutil.SyncDir(s.root); err != nil {
		s.rs.mu.Lock()
		s.rs.dirty = true
		s.rs.old = append(s.rs.old, old...)
		s.rs.mu.Unlock()
		return err
	}
	for _, o := range old {
		removeKeyDir(o.dir, o.key)
	}
	return nil
}

// removeKeyDir removes a key directory that left the store (replaced):
// the files its manifest lists, their directories and the marker,
// without reading every directory; anything else in it (or a marker that
// does not parse) falls back to os.RemoveAll.
func removeKeyDir(kd, key string) {
	data, err := readFile(filepath.Join(kd, MarkerName))
	if err != nil {
		os.RemoveAll(kd)
		return
	}
	m, err := storage.ParseManifest(data, key)
	if err != nil {
		os.RemoveAll(kd)
		return
	}
	files := filepath.Join(kd, m.FilesDir())
	dirs := map[string]bool{}
	for _, f := range m.Files {
		os.Remove(filepath.Join(files, filepath.FromSlash(f.Path)))
		for d := path.Dir(f.Path); d != "."; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	sub := make([]string, 0, len(dirs))
	for d := range dirs {
		sub = append(sub, d)
	}
	// Deepest first: a directory is empty once its children are gone.
	sort.Slice(sub, func(i, j int) bool { return sub[i] > sub[j] })
	for _, d := range sub {
		os.Remove(filepath.Join(files, filepath.FromSlash(d)))
	}
	os.Remove(filepath.Join(kd, MarkerName))
	if os.Remove(files) != nil || os.Remove(kd) != nil {
		os.RemoveAll(kd)
	}
}

// List returns every published key, sorted.
func (s *Store) List(ctx context.Context) ([]string, error) {
	ents, err := os.ReadDir(s.root)
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

// Delete renames key's directory away (readers stop seeing it at once),
// then removes it.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := storage.CheckKey(key); err != nil {
		return err
	}
	if s.readOnly != nil {
		return s.readOnly
	}
	dst := s.keyDir(key)
	if _, err := os.Lstat(dst); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	old, err := os.MkdirTemp(s.sessDir, "del-")
	if err != nil {
		return fmt.Errorf("store %s: delete %s: %w", s.root, key, err)
	}
	defer os.RemoveAll(old)
	if err := os.Rename(dst, filepath.Join(old, "a")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("store %s: delete %s: %w", s.root, key, err)
	}
	os.Remove(filepath.Join(s.root, ".locks", key+".lock"))
	return nil
}

// Verify re-hashes every file of key against its manifest.
func (s *Store) Verify(ctx context.Context, key string) error {
	m, err := s.Manifest(ctx, key)
	if err != nil {
		if !errors.Is(err, storage.ErrNotFound) {
			// An unreadable or invalid marker is damage too.
			return fmt.Errorf("%w: %w", err, storage.ErrCorrupt)
		}
		return err
	}
	return storage.VerifyDir(ctx, m, filepath.Join(s.keyDir(key), m.FilesDir()))
}

// Quarantine moves key's directory to .quarantine/<key>-<time>.
func (s *Store) Quarantine(ctx context.Context, key string) (string, error) {
	if err := storage.CheckKey(key); err != nil {
		return "", err
	}
	if s.readOnly != nil {
		return "", s.readOnly
	}
	q := filepath.Join(s.root, ".quarantine")
	if err := os.MkdirAll(q, 0o755); err != nil {
		return "", fmt.Errorf("store %s: quarantine %s: %w", s.root, key, err)
	}
	dst := filepath.Join(q, key+"-"+time.Now().UTC().Format("20060102T150405.000000000Z"))
	if err := os.Rename(s.keyDir(key), dst); err != nil {
		return "", fmt.Errorf("store %s: quarantine %s: %w", s.root, key, err)
	}
	return dst, nil
}

// Lock takes the build lock of key: a flock on .locks/<key>.lock (package
// fsutil), which then records its holder for waiters to name.
func (s *Store) Lock(ctx context.Context, key string, opts storage.LockOptions) (func(), error) {
	if err := storage.CheckKey(key); err != nil {
		return nil, err
	}
	if s.readOnly != nil {
		return nil, s.readOnly
	}
	lo := fsutil.LockOptions{Note: opts.Owner, WaitEvery: opts.ReportEvery}
	if lo.WaitEvery <= 0 {
		lo.WaitEvery = 30 * time.Second
	}
	if opts.OnWait != nil {
		lo.OnWait = func(h fsutil.Holder) {
			opts.OnWait(storage.Holder{Key: key, Owner: h.Note, PID: h.PID, Host: h.Host, Since: h.Since})
		}
	}
	l, err := fsutil.Acquire(ctx, filepath.Join(s.root, ".locks", key+".lock"), lo)
	if err != nil {
		return nil, fmt.Errorf("build lock of %s: %w", key, err)
	}
	return func() { l.Unlock() }, nil
}

// cleanStale removes temp dirs of sessions whose lock is free: their
// process is gone.
func (s *Store) cleanStale() {
	tmp := filepath.Join(s.root, ".tmp")
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
			if l, err := fsutil.TryAcquire(filepath.Join(tmp, name), fsutil.LockOptions{}); err == nil {
				os.RemoveAll(filepath.Join(tmp, sess))
				os.Remove(filepath.Join(tmp, name))
				l.Unlock()
			}
			continue
		}
		// A directory (or a stray file) without a lock file: its session
		// is gone.
		if _, err := os.Stat(filepath.Join(tmp, name+".lock")); errors.Is(err, fs.ErrNotExist) {
			os.RemoveAll(filepath.Join(tmp, name))
		}
	}
}

// Hold records nothing: the session's shared store lock keeps lair gc
// (which opens the store exclusively) out until Close.
func (s *Store) Hold(context.Context, []string, storage.HoldOptions) (func(), error) {
	return func() {}, nil
}

// Collect returns no leases: a store opened Exclusive has waited for
// every other session of this machine to end (and a local store has no
// sessions on other machines, short of a network file system whose locks
// do not reach them).
func (s *Store) Collect(context.Context) ([]*storage.Lease, func(), error) {
	return nil, func() {}, nil
}

// Close makes every publish of the session durable (fsyncs the store's
// directory), removes this session's temp dirs and releases its locks.
func (s *Store) Close() error {
	err := s.syncRoot()
	if s.sessDir != "" {
		if rerr := os.RemoveAll(s.sessDir); err == nil {
			err = rerr
		}
	}
	if s.sessLock != nil {
		os.Remove(s.sessLock.Path())
		s.sessLock.Unlock()
	}
	if s.storeLock != nil {
		s.storeLock.Unlock()
	}
	return err
}
