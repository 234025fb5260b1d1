package storage

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrNotFound is returned (wrapped) for a key that is not published.
var ErrNotFound = errors.New("artifact not in store")

// ErrCorrupt is returned (wrapped) by Verify when a file of an artifact
// does not match its manifest.
var ErrCorrupt = errors.New("artifact damaged")

// ErrReadOnly is returned (wrapped) by a Store opened read-only (its
// directory is on a read-only file system or not writable by this user)
// for everything that would write: NewTemp, Publish, Replace, Lock,
// Delete, Quarantine. Reading (Manifest, Path, List, Verify) works.
var ErrReadOnly = errors.New("read-only")

// Store holds published, content-addressed artifact directories.
//
// Implementations are safe for concurrent use by several goroutines, and
// several processes (or machines) may share one store. An open Store is a
// session: its temp dirs and locks go with Close.
type Store interface {
	// String names the store: its directory or URL.
	String() string
	// Check probes the store (directory readable, and writable unless it
	// was opened read-only; endpoint reachable,
	// credentials accepted, bucket present) so that a run fails with one
	// clear error before any stage runs.
	Check(ctx context.Context) error
	// Writable returns nil when the store accepts new artifacts, else an
	// error wrapping ErrReadOnly that names the store and says what to
	// do. A run on a read-only store can only reuse artifacts.
	Writable() error
	// Manifest returns the manifest of a published key, or an error
	// wrapping ErrNotFound.
	Manifest(ctx context.Context, key string) (*Manifest, error)
	// Path returns a local directory holding the files of the published
	// artifact key, fetching (and verifying) it into the local cache
	// first when the store is remote. Never write into it. An error
	// wraps ErrNotFound when key is not published.
	Path(ctx context.Context, key string) (string, error)
	// NewTemp returns a new empty directory, private to this session, to
	// build the artifact of key in. Temp dirs of sessions whose process
	// died are removed by the next session that opens the store.
	NewTemp(ctx context.Context, key string) (string, error)
	// Discard removes a temp directory that will not be published.
	Discard(dir string) error
	// Publish makes dir (a NewTemp directory; it is consumed) the
	// artifact of key, unless key is already published: then the
	// published artifact is kept and dir removed. It returns the manifest
	// of what is published. Readers see the whole artifact or nothing.
	Publish(ctx context.Context, key, dir string) (*Manifest, error)
	// Replace is Publish that replaces an artifact already published
	// under key (lair run --force): readers see the old artifact or the
	// new one, never a mix of both.
	Replace(ctx context.Context, key, dir string) (*Manifest, error)
	// Lock takes the build lock of key, waiting while another session
	// (in this or another process on this machine) holds it, until ctx
	// ends. opts.OnWait hears who holds it.
	Lock(ctx context.Context, key string, opts LockOptions) (unlock func(), err error)
	// List returns every published key, sorted.
	List(ctx context.Context) ([]string, error)
	// Delete unpublishes key (its marker goes first, so readers stop
	// trusting it at once) and removes its files. A missing key is not an
	// error.
	Delete(ctx context.Context, key string) error
	// Verify re-reads every file of the published artifact key and checks
	// its size and sha256 against the manifest; a mismatch (or a missing
	// file) gives an error wrapping ErrCorrupt that names the file.
	Verify(ctx context.Context, key string) error
	// Quarantine unpublishes key and keeps its files aside for inspection;
	// it returns where they are. The next run rebuilds the artifact.
	Quarantine(ctx context.Context, key string) (string, error)
	// Hold marks keys as in use by this session until release is called
	// (a run holds every key of its plan from before it looks for cached
	// ones until it ends), so that lair gc on any machine keeps them. On a
	// local store the session's shared store lock already keeps lair gc
	// out, so Hold records nothing there; on a shared backend it writes a
	// lease into the store and renews it while held. When a collection is
	// in progress on another machine, Hold waits for it to end (until ctx
	// ends; opts.OnWait hears who collects).
	Hold(ctx context.Context, keys []string, opts HoldOptions) (release func(), err error)
	// Collect announces a collection (lair gc) to sessions on other
	// machines, then returns the live leases of runs elsewhere: their
	// keys must be kept. done withdraws the announcement. The store must
	// have been opened for collection (stores.Options.Exclusive), which
	// keeps the sessions of this machine out; a local store then has no
	// leases to return.
	Collect(ctx context.Context) (inUse []*Lease, done func(), err error)
	// Close ends the session: its temp dirs go and its locks are released.
	Close() error
}

// LockOptions say who takes a build lock and who hears about waiting.
type LockOptions struct {
	// Owner names the taker (e.g. the stage instance), recorded in the
	// lock so that others waiting can say whom they wait for.
	Owner string
	// OnWait, when set, is called when the lock is held by another
	// session: once when the wait begins and again every ReportEvery.
	OnWait func(Holder)
	// ReportEvery is how often OnWait is repeated during a long wait
	// (default 30s).
	ReportEvery time.Duration
}

// Holder describes who holds a build lock, as its holder recorded it.
// Fields are zero when the holder has not written them (yet).
type Holder struct {
	Key   string    `json:"key"`
	Owner string    `json:"owner,omitempty"`
	PID   int       `json:"pid"`
	Host  string    `json:"host"`
	Since time.Time `json:"since"`
}

// String is "pid 123 on host h since 15:04:05 (owner)".
func (h Holder) String() string {
	if h.PID == 0 {
		return "another lair process (holder not recorded yet)"
	}
	s := fmt.Sprintf("pid %d on host %s since %s", h.PID, h.Host, h.Since.Local().Format("2006-01-02 15:04:05"))
	if h.Owner != "" {
		s += " (" + h.Owner + ")"
	}
	return s
}

// Remote is a shared backend (S3): a Store without a local session.
// NewCached puts a local Store in front of it.
type Remote interface {
	// String returns the store URL.
	String() string
	// Check probes the backend (see Store.Check).
	Check(ctx context.Context) error
	// Manifest returns the manifest of a published key, or an error
	// wrapping ErrNotFound.
	Manifest(ctx context.Context, key string) (*Manifest, error)
	// Fetch downloads the files of m (the manifest of key) into the
	// directory dst, which must not exist, checking every file's size
	// and sha256; dst appears complete or not at all.
	Fetch(ctx context.Context, m *Manifest, dst string) error
	// Upload publishes the files of the directory src under key: every
	// file under a fresh directory name, then the marker. When replace is
	// false and key is already published, nothing is uploaded and the
	// published manifest is returned.
	Upload(ctx context.Context, key, src string, replace bool) (*Manifest, error)
	// List returns every published key, sorted.
	List(ctx context.Context) ([]string, error)
	// Delete removes key's marker, then its files; a missing key is not
	// an error.
	Delete(ctx context.Context, key string) error
	// Quarantine moves key's marker aside (so the key is unpublished but
	// its files stay for inspection) and returns where it went.
	Quarantine(ctx context.Context, key string) (string, error)
	// PutLease writes (or renews) l where every machine sees it.
	PutLease(ctx context.Context, l *Lease) error
	// Leases returns the leases of kind in the store, live or expired.
	Leases(ctx context.Context, kind LeaseKind) ([]*Lease, error)
	// DeleteLease removes l; a missing lease is not an error.
	DeleteLease(ctx context.Context, l *Lease) error
}

// Has reports whether key is published in s.
func Has(ctx context.Context, s interface {
	Manifest(context.Context, string) (*Manifest, error)
}, key string) (bool, error) {
	_, err := s.Manifest(ctx, key)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, nil
}

// CheckKey reports whether key can name an artifact: 1 to 200 characters
// from [A-Za-z0-9._=-], not starting with a dot (names starting with a dot
// are the store's own: temp dirs, locks, quarantine). Content addresses
// made by the planner (hex digests) always pass.
func CheckKey(key string) error {
	if key == "" || len(key) > 200 {
		return fmt.Errorf("artifact key %q: want 1 to 200 characters", key)
	}
	if key[0] == '.' {
		return fmt.Errorf("artifact key %q: must not start with '.'", key)
	}
	for _, r := range key {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune("._=-", r):
		default:
			return fmt.Errorf("artifact key %q: character %q not allowed (use [A-Za-z0-9._=-])", key, r)
		}
	}
	return nil
}
