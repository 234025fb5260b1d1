package fsutil

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Holder describes the process holding an exclusive lock, as it wrote
// itself into the lock file. The zero Holder means "unknown" (the holder
// has not written yet, or holds a shared lock).
type Holder struct {
	PID   int       `json:"pid"`
	Host  string    `json:"host"`
	Since time.Time `json:"since"`
	Note  string    `json:"note,omitempty"` // what the holder does, e.g. "building encode/3f2a"
}

// Known reports whether anything is known about the holder.
func (h Holder) Known() bool { return h.PID != 0 }

// String is e.g. `pid 4121 on node-3 since 03:51:07 UTC (2m10s ago): building encode/3f2a`.
func (h Holder) String() string {
	if !h.Known() {
		return "an unknown process"
	}
	s := fmt.Sprintf("pid %d on %s since %s (%s ago)", h.PID, h.Host,
		h.Since.UTC().Format("15:04:05 UTC"), time.Since(h.Since).Round(time.Second))
	if h.Note != "" {
		s += ": " + h.Note
	}
	return s
}

// LockOptions tune Acquire.
type LockOptions struct {
	// Shared takes a shared (read) lock instead of an exclusive one.
	Shared bool
	// Note is written into the lock file beside pid, host and time, for
	// waiters to show (exclusive locks only).
	Note string
	// OnWait, when set, is called when the lock is busy: once at the start
	// of the wait and again every WaitEvery, with the current holder.
	OnWait func(Holder)
	// WaitEvery is the interval between OnWait calls (0: 10 s).
	WaitEvery time.Duration
	// ReadOnly opens an existing lock file for reading only, without
	// creating it or its directory (a lock on a read-only file system or
	// in a directory this user may not write). It needs Shared: an
	// exclusive holder could not record itself.
	ReadOnly bool
}

// Lock is a held lock; Unlock releases it.
type Lock struct {
	fd     int // -1 once released
	path   string
	shared bool
}

// Path is the lock file's path.
func (l *Lock) Path() string { return l.path }

// Unlock releases the lock. It is safe to call more than once.
func (l *Lock) Unlock() error {
	if l == nil || l.fd < 0 {
		return nil
	}
	if !l.shared {
		unix.Ftruncate(l.fd, 0) // a waiter that reads now sees "unknown", not a stale holder
	}
	err := unix.Close(l.fd) // closing the descriptor releases the flock
	l.fd = -1
	return err
}

// ErrLocked is returned by TryAcquire when another holder has the lock.
var ErrLocked = errors.New("locked by another process")

// Acquire takes the lock at path (creating the file and its directory),
// waiting while another holder has it, until ctx ends. The error on
// cancellation names the path and the holder.
func Acquire(ctx context.Context, path string, opts LockOptions) (*Lock, error) {
	start := time.Now()
	wait := 5 * time.Millisecond
	every := opts.WaitEvery
	if every <= 0 {
		every = 10 * time.Second
	}
	var nextReport time.Time
	for {
		l, err := TryAcquire(path, opts)
		if err == nil {
			return l, nil
		}
		if !errors.Is(err, ErrLocked) {
			return nil, err
		}
		if opts.OnWait != nil && !time.Now().Before(nextReport) {
			opts.OnWait(ReadHolder(path))
			nextReport = time.Now().Add(every)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waited %s for lock %s held by %s: %w", time.Since(start).Round(time.Millisecond), path, ReadHolder(path), ctx.Err())
		case <-time.After(wait):
		}
		wait = min(wait*2, 100*time.Millisecond)
	}
}

// TryAcquire takes the lock at path if it is free, else returns an error
// satisfying errors.Is(err, ErrLocked).
func TryAcquire(path string, opts LockOptions) (*Lock, error) {
	// Raw descriptors: an *os.File would be registered with the runtime's
	// poller and switched back to blocking mode for flock (four fcntl and
	// epoll calls), more than the lock itself costs.
	flag := unix.O_CREAT | unix.O_RDWR | unix.O_CLOEXEC
	if opts.ReadOnly {
		if !opts.Shared {
			return nil, fmt.Errorf("lock %s: a read-only lock must be shared", path)
		}
		flag = unix.O_RDONLY | unix.O_CLOEXEC
	}
	how := unix.LOCK_EX
	if opts.Shared {
		how = unix.LOCK_SH
	}
	fail := func(op string, err error) (*Lock, error) {
		return nil, fmt.Errorf("lock %s: %w", path, &os.PathError{Op: op, Path: path, Err: err})
	}
	for {
		fd, err := openRetry(path, flag)
		if errors.Is(err, unix.ENOENT) && !opts.ReadOnly {
			// The directory is missing (the file is created): make it
			// once, not on every lock.
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				return nil, fmt.Errorf("lock %s: %w", path, err)
			}
			fd, err = openRetry(path, flag)
		}
		if err != nil {
			return fail("open", err)
		}
		for {
			err = unix.Flock(fd, how|unix.LOCK_NB)
			if !errors.Is(err, unix.EINTR) {
				break
			}
		}
		if errors.Is(err, unix.EWOULDBLOCK) {
			unix.Close(fd)
			return nil, fmt.Errorf("lock %s: %w", path, ErrLocked)
		}
		if err != nil {
			unix.Close(fd)
			return fail("flock", err)
		}
		// A cleaner may have removed (or replaced) the file between open and
		// flock: then this lock guards nothing; try again on the new file.
		var fst, pst unix.Stat_t
		err1 := unix.Fstat(fd, &fst)
		err2 := unix.Stat(path, &pst)
		if err1 != nil || err2 != nil || fst.Dev != pst.Dev || fst.Ino != pst.Ino {
			unix.Close(fd)
			continue
		}
		l := &Lock{fd: fd, path: path, shared: opts.Shared}
		if !opts.Shared {
			b, _ := json.Marshal(Holder{PID: os.Getpid(), Host: hostname(), Since: time.Now().Round(time.Millisecond), Note: opts.Note})
			if err := unix.Ftruncate(fd, 0); err == nil {
				unix.Pwrite(fd, append(b, '\n'), 0) // best effort: only informs waiters
			}
		}
		return l, nil
	}
}

func openRetry(path string, flag int) (int, error) {
	for {
		fd, err := unix.Open(path, flag, 0o644)
		if !errors.Is(err, unix.EINTR) {
			return fd, err
		}
	}
}

// hostname is read once per process: every exclusive lock records it.
var hostname = sync.OnceValue(func() string {
	h, _ := os.Hostname()
	return h
})

// ReadHolder returns what the holder of the lock at path wrote about
// itself; the zero Holder when nothing (valid) is there.
func ReadHolder(path string) Holder {
	b, err := os.ReadFile(path)
	if err != nil {
		return Holder{}
	}
	var h Holder
	if json.Unmarshal([]byte(strings.TrimSpace(string(b))), &h) != nil {
		return Holder{}
	}
	return h
}
