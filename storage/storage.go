package storage

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// ErrNotFound is returned (wrapped) by Fetch and Manifest for a key that is
// not published.
var ErrNotFound = errors.New("artifact not in store")

// Store holds published, content-addressed artifact directories.
//
// Implementations are safe for concurrent use by several goroutines and by
// several processes (or machines) sharing the same store.
type Store interface {
	// Manifest returns the manifest of a published key, or an error
	// wrapping ErrNotFound when the key has no marker.
	Manifest(ctx context.Context, key string) (*Manifest, error)
	// Fetch copies the published artifact key into the directory dst,
	// which must not exist yet. Files are checked against the manifest
	// (size and sha256) in a temporary directory that is then renamed to
	// dst, so dst either does not exist or is complete.
	Fetch(ctx context.Context, key, dst string) (*Manifest, error)
	// Publish uploads the files under the directory src as artifact key,
	// writing the marker last. Publishing a key that is already
	// published does nothing and returns the existing manifest.
	Publish(ctx context.Context, key, src string) (*Manifest, error)
	// List returns every published key (those with a marker), sorted.
	List(ctx context.Context) ([]string, error)
	// Delete unpublishes key (its marker goes first, so readers stop
	// trusting it at once) and removes its files. A missing key is not an
	// error.
	Delete(ctx context.Context, key string) error
	// Check probes the store (reachable, credentials accepted, bucket or
	// directory present and listable) so that a run can fail with one
	// clear error before any stage runs.
	Check(ctx context.Context) error
	// String returns the store's URL.
	String() string
}

// Has reports whether key is published in s.
func Has(ctx context.Context, s Store, key string) (bool, error) {
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
// from [A-Za-z0-9._=-], not starting with a dot. Content addresses made by
// the planner (hex digests) always pass.
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
