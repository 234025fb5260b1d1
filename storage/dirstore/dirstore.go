package dirstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lair-ir/lair/storage"
)

// MarkerName is the marker file inside a key directory.
const MarkerName = "_COMPLETE"

// Store is a directory-backed storage.Store. Open one with Open.
type Store struct {
	root    string
	session string
	sessDir string
	sessF   *os.File
	storeF  *os.File
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
func Open(ctx context.Context, root string, opts Options) (*Store, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", root, err)
	}
	for _, d := range []string{".tmp", ".locks"} {
		if err := os.MkdirAll(filepath.Join(abs, d), 0o755); err != nil {
			return nil, fmt.Errorf("store %s: %w (check the path and its permissions, or pass another --store)", abs, err)
		}
	}
	s := &Store{root: abs}
	how := syscall.LOCK_SH
	if opts.Exclusive {
		how = syscall.LOCK_EX
	}
	var onBusy func(*os.File) waiter
	if opts.OnWait != nil {
		onBusy = func(*os.File) waiter {
			var once sync.Once
			return func() { once.Do(opts.OnWait) }
		}
	}
	s.storeF, err = lockFile(ctx, filepath.Join(abs, ".store.lock"), how, onBusy)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", abs, err)
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	s.session = fmt.Sprintf("%d-%s", os.Getpid(), hex.EncodeToString(rnd[:]))
	s.sessF, err = lockFile(ctx, filepath.Join(abs, ".tmp", s.session+".lock"), syscall.LOCK_EX, nil)
	if err != nil {
		s.storeF.Close()
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

// Root returns the store's directory.
func (s *Store) Root() string { return s.root }

// String returns the store's directory.
func (s *Store) String() string { return s.root }

// Check checks that the store's directory is writable.
func (s *Store) Check(ctx context.Context) error {
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
	d, err := os.MkdirTemp(s.sessDir, key[:min(12, len(key))]+"-")
	if err != nil {
		return "", fmt.Errorf("store %s: %w", s.root, err)
	}
	return d, nil
}

func (s *Store) inSession(dir string) error {
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
			os.RemoveAll(dir)
			return m, nil
		} else if !errors.Is(err, storage.ErrNotFound) {
			return nil, err
		}
	}
	fail := func(err error) (*storage.Manifest, error) {
		return nil, fmt.Errorf("store %s: publish %s: %w", s.root, key, err)
	}
	// Group-readable and durable before anyone can see it.
	if err := prepareTree(dir); err != nil {
		return fail(err)
	}
	m, err := storage.ScanDir(ctx, key, dir)
	if err != nil {
		return fail(err)
	}
	kd, err := os.MkdirTemp(s.sessDir, "pub-")
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(kd)
	if err := os.Chmod(kd, 0o755); err != nil {
		return fail(err)
	}
	if err := os.Rename(dir, filepath.Join(kd, "files")); err != nil {
		return fail(err)
	}
	if err := writeSynced(filepath.Join(kd, MarkerName), m.Marshal()); err != nil {
		return fail(err)
	}
	dst := s.keyDir(key)
	err = os.Rename(kd, dst)
	if err == nil {
		// The parent directory is not fsynced: after a crash a publish
		// may be lost (the stage then runs again) but never seen half done.
		return m, nil
	}
	if _, serr := os.Lstat(dst); serr != nil {
		return fail(err)
	}
	if !replace {
		// Published meanwhile by another session: theirs is as good.
		if other, merr := s.Manifest(ctx, key); merr == nil {
			return other, nil
		}
	}
	// dst exists: swap in one step where the file system can.
	if err := unix.Renameat2(unix.AT_FDCWD, kd, unix.AT_FDCWD, dst, unix.RENAME_EXCHANGE); err == nil {
		return m, nil // kd now holds the old artifact, removed by the defer
	}
	for range 3 {
		old, err := os.MkdirTemp(s.sessDir, "old-")
		if err != nil {
			return fail(err)
		}
		if err := os.Rename(dst, filepath.Join(old, "a")); err != nil && !errors.Is(err, fs.ErrNotExist) {
			os.RemoveAll(old)
			return fail(err)
		}
		err = os.Rename(kd, dst)
		os.RemoveAll(old)
		if err == nil {
			return m, nil
		}
	}
	return fail(fmt.Errorf("another session keeps publishing %s at the same time", key))
}

// prepareTree makes directories 0755 and files at least 0644 (a shared
// store must be group-readable; stages' temp-file helpers make 0600 files)
// and fsyncs every file.
func prepareTree(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.Chmod(p, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil // ScanDir refuses it with a clear error
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if mode := fi.Mode().Perm(); mode&0o644 != 0o644 {
			if err := os.Chmod(p, mode|0o644); err != nil {
				return err
			}
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := f.Sync(); err != nil {
			return fmt.Errorf("fsync %s: %w", p, err)
		}
		return nil
	})
}

func writeSynced(p string, data []byte) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
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

// Lock takes the build lock of key: a flock on .locks/<key>.lock, which
// then records its holder.
func (s *Store) Lock(ctx context.Context, key string, opts storage.LockOptions) (func(), error) {
	if err := storage.CheckKey(key); err != nil {
		return nil, err
	}
	return LockPath(ctx, filepath.Join(s.root, ".locks", key+".lock"), key, opts)
}

// LockPath takes an exclusive build lock on the file p (created if
// missing) for key, reporting waits through opts.OnWait, and records this
// process as the holder in the file. Each call opens the file anew, so
// goroutines of one process exclude each other too.
func LockPath(ctx context.Context, p, key string, opts storage.LockOptions) (func(), error) {
	f, err := lockFile(ctx, p, syscall.LOCK_EX, func(f *os.File) waiter {
		return newWaiter(f, key, opts)
	})
	if err != nil {
		return nil, fmt.Errorf("build lock of %s: %w", key, err)
	}
	host, _ := os.Hostname()
	h := storage.Holder{Key: key, Owner: opts.Owner, PID: os.Getpid(), Host: host, Since: time.Now().UTC()}
	b, _ := json.Marshal(h)
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt(append(b, '\n'), 0)
	}
	return func() { f.Close() }, nil
}

// waiter is told each time a lock attempt finds the lock taken.
type waiter func()

// newWaiter reports the holder of the lock in f through opts.OnWait: as
// soon as the holder has recorded itself (or after a second), then every
// opts.ReportEvery.
func newWaiter(f *os.File, key string, opts storage.LockOptions) waiter {
	if opts.OnWait == nil {
		return nil
	}
	every := opts.ReportEvery
	if every <= 0 {
		every = 30 * time.Second
	}
	start := time.Now()
	var last time.Time
	return func() {
		now := time.Now()
		if !last.IsZero() && now.Sub(last) < every {
			return
		}
		h := readHolder(f)
		if h.PID == 0 && last.IsZero() && now.Sub(start) < time.Second {
			return // the holder is about to write itself down
		}
		h.Key = key
		last = now
		opts.OnWait(h)
	}
}

func readHolder(f *os.File) storage.Holder {
	var h storage.Holder
	b := make([]byte, 4096)
	n, _ := f.ReadAt(b, 0)
	_ = json.Unmarshal(b[:n], &h)
	return h
}

// lockFile opens p and flocks it, polling so that ctx can end the wait.
// It makes sure the locked file is still the one at p (Delete may have
// removed it in between).
func lockFile(ctx context.Context, p string, how int, onBusy func(*os.File) waiter) (*os.File, error) {
	for {
		f, err := os.OpenFile(p, os.O_CREATE|os.O_RDWR, 0o644)
		if err != nil {
			return nil, err
		}
		var w waiter
		if onBusy != nil {
			w = onBusy(f)
		}
		wait := 5 * time.Millisecond
		for {
			err = syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
			if err == nil {
				break
			}
			if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
				f.Close()
				return nil, fmt.Errorf("lock %s: %w", p, err)
			}
			if w != nil {
				w()
			}
			select {
			case <-ctx.Done():
				f.Close()
				return nil, fmt.Errorf("waiting for lock %s: %w", p, ctx.Err())
			case <-time.After(wait):
			}
			wait = min(wait*2, 100*time.Millisecond)
		}
		fi, err1 := f.Stat()
		pi, err2 := os.Stat(p)
		if err1 == nil && err2 == nil && os.SameFile(fi, pi) {
			return f, nil
		}
		f.Close() // removed under us: try again
	}
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
		// A directory (or a stray file) without a lock file: its session
		// is gone.
		if _, err := os.Stat(filepath.Join(tmp, name+".lock")); errors.Is(err, fs.ErrNotExist) {
			os.RemoveAll(filepath.Join(tmp, name))
		}
	}
}

// Close removes this session's temp dirs and releases its locks.
func (s *Store) Close() error {
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
