package storage

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"
)

// NewCached returns a Store over the shared backend remote that keeps a
// verified copy of every artifact it hands out in the local store cache,
// as go-internal's ProgCache sits over its disk cache:
//
//   - Manifest, List, Delete and Quarantine go to remote (the truth);
//   - Path returns the cached copy when the cache holds the same files as
//     remote's manifest, else fetches (verifying every file) into the
//     cache first, one fetch per key at a time on this machine;
//   - Publish and Replace upload to remote first, then keep the directory
//     as the cached copy;
//   - NewTemp, Discard and Lock are the cache's: build locks keep runs on
//     one machine from building a key twice; runs on two machines may,
//     and the last upload wins (both are complete);
//   - Verify downloads and checks every file from remote, and drops a
//     damaged cached copy (the next Path fetches it again);
//   - Close closes the cache's session.
//   - Hold writes a run lease into remote (renewed while held), and
//     Collect a gc lease, so that runs and collections on different
//     machines see each other (see Store.Hold).
func NewCached(remote Remote, cache Store, opts ...CachedOptions) Store {
	c := &cached{remote: remote, cache: cache, runTTL: RunLeaseTTL, gcTTL: GCLeaseTTL, poll: time.Second}
	for _, o := range opts {
		if o.RunLeaseTTL > 0 {
			c.runTTL = o.RunLeaseTTL
		}
		if o.GCLeaseTTL > 0 {
			c.gcTTL = o.GCLeaseTTL
		}
		if o.Poll > 0 {
			c.poll = o.Poll
		}
	}
	return c
}

// CachedOptions tune NewCached; zero fields keep the defaults.
type CachedOptions struct {
	RunLeaseTTL time.Duration // default RunLeaseTTL
	GCLeaseTTL  time.Duration // default GCLeaseTTL
	// Poll is how often Hold looks again while a gc runs (default 1s).
	Poll time.Duration
}

type cached struct {
	remote        Remote
	cache         Store
	runTTL, gcTTL time.Duration
	poll          time.Duration
	// seen holds the manifest the last Manifest call of a key returned,
	// so that the Path right after it needs no second request; Path uses
	// it once.
	seen sync.Map // key -> *Manifest
}

func (c *cached) String() string { return c.remote.String() }

func (c *cached) Check(ctx context.Context) error {
	if err := c.remote.Check(ctx); err != nil {
		return err
	}
	if err := c.cache.Check(ctx); err != nil {
		return fmt.Errorf("local cache of %s: %w", c.remote, err)
	}
	return nil
}

// Writable is the cache's: fetched and built artifacts go through it.
func (c *cached) Writable() error {
	if err := c.cache.Writable(); err != nil {
		return fmt.Errorf("local cache of %s: %w", c.remote, err)
	}
	return nil
}

func (c *cached) Manifest(ctx context.Context, key string) (*Manifest, error) {
	m, err := c.remote.Manifest(ctx, key)
	if err != nil {
		c.seen.Delete(key)
		return nil, err
	}
	c.seen.Store(key, m)
	return m, nil
}

// manifest returns the manifest the last Manifest call saw, once, else
// remote's.
func (c *cached) manifest(ctx context.Context, key string) (*Manifest, error) {
	if m, ok := c.seen.LoadAndDelete(key); ok {
		return m.(*Manifest), nil
	}
	return c.remote.Manifest(ctx, key)
}

// fresh returns the cached copy's path when the cache holds m's files.
func (c *cached) fresh(ctx context.Context, m *Manifest) (string, bool) {
	lm, err := c.cache.Manifest(ctx, m.Key)
	if err != nil || !SameFiles(lm, m) {
		return "", false
	}
	p, err := c.cache.Path(ctx, m.Key)
	return p, err == nil
}

func (c *cached) Path(ctx context.Context, key string) (string, error) {
	m, err := c.manifest(ctx, key)
	if err != nil {
		return "", err
	}
	if p, ok := c.fresh(ctx, m); ok {
		return p, nil
	}
	// Missing or another generation: fetch, one goroutine or process at a
	// time (stages that share an input ask for it at once).
	unlock, err := c.cache.Lock(ctx, key+".fetch", LockOptions{Owner: "fetch from " + c.remote.String()})
	if err != nil {
		return "", err
	}
	defer unlock()
	for attempt := 0; ; attempt++ {
		if p, ok := c.fresh(ctx, m); ok {
			return p, nil
		}
		err := c.fetch(ctx, m)
		if err == nil {
			return c.cache.Path(ctx, key)
		}
		if attempt == 1 {
			return "", err
		}
		// Replaced while we fetched (the old generation's files went):
		// read the marker again and retry once.
		m2, merr := c.remote.Manifest(ctx, key)
		if merr != nil {
			return "", merr
		}
		if SameFiles(m, m2) && m.Dir == m2.Dir {
			return "", err
		}
		m = m2
	}
}

func (c *cached) fetch(ctx context.Context, m *Manifest) error {
	tmp, err := c.cache.NewTemp(ctx, m.Key)
	if err != nil {
		return err
	}
	defer c.cache.Discard(tmp)
	dst := filepath.Join(tmp, "a")
	if err := c.remote.Fetch(ctx, m, dst); err != nil {
		return err
	}
	lm, err := c.cache.Replace(ctx, m.Key, dst)
	if err != nil {
		return err
	}
	if !SameFiles(lm, m) {
		return fmt.Errorf("fetch %s from %s: the cached copy does not match the manifest it was checked against", m.Key, c.remote)
	}
	return nil
}

func (c *cached) NewTemp(ctx context.Context, key string) (string, error) {
	return c.cache.NewTemp(ctx, key)
}

func (c *cached) Discard(dir string) error { return c.cache.Discard(dir) }

func (c *cached) Publish(ctx context.Context, key, dir string) (*Manifest, error) {
	return c.publish(ctx, key, dir, false)
}

func (c *cached) Replace(ctx context.Context, key, dir string) (*Manifest, error) {
	return c.publish(ctx, key, dir, true)
}

func (c *cached) publish(ctx context.Context, key, dir string, replace bool) (*Manifest, error) {
	c.seen.Delete(key)
	m, err := c.remote.Upload(ctx, key, dir, replace)
	if err != nil {
		c.cache.Discard(dir)
		return nil, err
	}
	lm, err := c.cache.Replace(ctx, key, dir)
	if err != nil {
		return nil, err
	}
	if !SameFiles(lm, m) {
		// Another machine published key first and its artifact differs
		// from ours: the cache must hold what the store holds.
		if err := c.cache.Delete(ctx, key); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (c *cached) Lock(ctx context.Context, key string, opts LockOptions) (func(), error) {
	return c.cache.Lock(ctx, key, opts)
}

func (c *cached) List(ctx context.Context) ([]string, error) { return c.remote.List(ctx) }

func (c *cached) Delete(ctx context.Context, key string) error {
	c.seen.Delete(key)
	if err := c.remote.Delete(ctx, key); err != nil {
		return err
	}
	return c.cache.Delete(ctx, key)
}

func (c *cached) Verify(ctx context.Context, key string) error {
	m, err := c.remote.Manifest(ctx, key)
	if err != nil {
		if !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("%w: %w", err, ErrCorrupt)
		}
		return err
	}
	tmp, err := c.cache.NewTemp(ctx, key)
	if err != nil {
		return err
	}
	defer c.cache.Discard(tmp)
	if err := c.remote.Fetch(ctx, m, filepath.Join(tmp, "a")); err != nil {
		return err
	}
	if _, ok := c.fresh(ctx, m); ok {
		if err := c.cache.Verify(ctx, key); errors.Is(err, ErrCorrupt) {
			return c.cache.Delete(ctx, key)
		}
	}
	return nil
}

func (c *cached) Quarantine(ctx context.Context, key string) (string, error) {
	c.seen.Delete(key)
	where, err := c.remote.Quarantine(ctx, key)
	if err != nil {
		return "", err
	}
	return where, c.cache.Delete(ctx, key)
}

// Hold writes a run lease naming keys into remote first, and only then
// looks for collections in progress (and waits for them to end). A gc
// writes its lease first and only then reads the run leases (Collect).
// With a store whose writes are visible to every later listing (S3 is),
// one of the two sees the other: either the gc keeps the run's keys, or
// the run waits for the gc to end before it looks for cached artifacts.
func (c *cached) Hold(ctx context.Context, keys []string, opts HoldOptions) (func(), error) {
	l := NewLease(LeaseRun, opts.Owner, keys, c.runTTL)
	release, err := c.hold(ctx, l, c.runTTL)
	if err != nil {
		return nil, err
	}
	waited := false
	for {
		gcs, err := c.remote.Leases(ctx, LeaseGC)
		if err != nil {
			release()
			return nil, fmt.Errorf("store %s: read gc leases: %w", c.remote, err)
		}
		var busy *Lease
		now := time.Now()
		for _, g := range gcs {
			if g.Live(now) {
				busy = g
				break
			}
		}
		if busy == nil {
			return release, nil
		}
		if !waited && opts.OnWait != nil {
			opts.OnWait(busy)
		}
		waited = true
		select {
		case <-ctx.Done():
			release()
			return nil, fmt.Errorf("store %s: waited for %s to end: %w", c.remote, busy, ctx.Err())
		case <-time.After(c.poll):
		}
	}
}

// hold puts l into remote and renews it every third of ttl until the
// returned release, which deletes it.
func (c *cached) hold(ctx context.Context, l *Lease, ttl time.Duration) (func(), error) {
	if err := c.remote.PutLease(ctx, l); err != nil {
		return nil, fmt.Errorf("store %s: write %s lease: %w", c.remote, l.Kind, err)
	}
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(ttl / 3)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				// A failed renewal is tried again at the next tick; the
				// lease lives ttl, three ticks.
				r := *l
				r.Expires = time.Now().UTC().Add(ttl).Round(time.Millisecond)
				rctx, cancel := context.WithTimeout(context.Background(), ttl/3)
				c.remote.PutLease(rctx, &r)
				cancel()
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(stop)
			<-done
			dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			c.remote.DeleteLease(dctx, l)
		})
	}, nil
}

// Collect writes a gc lease into remote first, then reads the run
// leases (see Hold); expired ones (of killed runs) are deleted.
func (c *cached) Collect(ctx context.Context) ([]*Lease, func(), error) {
	g := NewLease(LeaseGC, "lair gc", nil, c.gcTTL)
	done, err := c.hold(ctx, g, c.gcTTL)
	if err != nil {
		return nil, nil, err
	}
	runs, err := c.remote.Leases(ctx, LeaseRun)
	if err != nil {
		done()
		return nil, nil, fmt.Errorf("store %s: read run leases: %w", c.remote, err)
	}
	var live []*Lease
	now := time.Now()
	for _, l := range runs {
		if l.Live(now) {
			live = append(live, l)
		} else if err := c.remote.DeleteLease(ctx, l); err != nil {
			done()
			return nil, nil, fmt.Errorf("store %s: delete expired lease of %s: %w", c.remote, l, err)
		}
	}
	return live, done, nil
}

func (c *cached) Close() error { return c.cache.Close() }
