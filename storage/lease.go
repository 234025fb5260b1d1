package storage

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"time"
)

// LeaseKind says what holds a lease.
type LeaseKind string

const (
	// LeaseRun is a run (or a cluster step) using keys: lair gc keeps them.
	LeaseRun LeaseKind = "run"
	// LeaseGC is a collection in progress: runs starting meanwhile wait
	// for it to end.
	LeaseGC LeaseKind = "gc"
)

// Default lease lifetimes. A lease is renewed every third of its
// lifetime while held; one whose holder died expires. A run's lease is
// long, so that clocks that differ between machines by minutes do not
// make a live run look dead to a gc elsewhere; a gc's is short, since
// runs wait for it.
const (
	RunLeaseTTL = 10 * time.Minute
	GCLeaseTTL  = 2 * time.Minute
)

// Lease is written into a shared backend by a session on one machine, for
// sessions on other machines to see: a run's lease names the keys it
// uses, which lair gc on any machine keeps; a gc's lease makes runs that
// start meanwhile wait. Local stores need none: their store lock does it
// for the processes of one machine.
type Lease struct {
	Kind    LeaseKind `json:"kind"`
	ID      string    `json:"id"`
	Host    string    `json:"host"`
	PID     int       `json:"pid"`
	Owner   string    `json:"owner,omitempty"`
	Since   time.Time `json:"since"`
	Expires time.Time `json:"expires"`
	Keys    []string  `json:"keys,omitempty"`
}

// NewLease returns a lease of kind for this process, expiring after ttl.
func NewLease(kind LeaseKind, owner string, keys []string, ttl time.Duration) *Lease {
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	host, _ := os.Hostname()
	now := time.Now().UTC().Round(time.Millisecond)
	return &Lease{Kind: kind, ID: fmt.Sprintf("%d-%s", os.Getpid(), hex.EncodeToString(rnd[:])),
		Host: host, PID: os.Getpid(), Owner: owner, Since: now, Expires: now.Add(ttl), Keys: keys}
}

// Live reports whether the lease has not expired at now.
func (l *Lease) Live(now time.Time) bool { return now.Before(l.Expires) }

// String is e.g. "run pid 4121 on node-3 since 2026-12-06 04:07:45 UTC
// (lair run dags/x.yaml)".
func (l *Lease) String() string {
	s := fmt.Sprintf("%s pid %d on %s since %s", l.Kind, l.PID, l.Host, l.Since.UTC().Format("2006-01-02 15:04:05 UTC"))
	if l.Owner != "" {
		s += " (" + l.Owner + ")"
	}
	return s
}

// HoldOptions say who holds keys (Store.Hold) and who hears about waiting.
type HoldOptions struct {
	// Owner names the holder (e.g. "lair run dags/x.yaml"), for lair gc
	// to show which runs keep keys.
	Owner string
	// OnWait, when set, is called once when Hold waits for a lair gc in
	// progress on another machine.
	OnWait func(gc *Lease)
}
