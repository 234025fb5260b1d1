package stores

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/lair-ir/lair/storage"
	"github.com/lair-ir/lair/storage/dirstore"
	"github.com/lair-ir/lair/storage/s3store"
)

// Options change how a store is opened.
type Options struct {
	// CacheDir is the local directory store that caches a remote (S3)
	// store's artifacts; required for s3:// URLs, unused otherwise.
	CacheDir string
	// Exclusive opens the local store (or the remote store's cache)
	// exclusively: it waits for every other session to end and keeps new
	// ones out until Close (lair gc).
	Exclusive bool
	// OnWait, when set, is called once if Open waits for other sessions
	// (with Exclusive: any running run on this machine).
	OnWait func()
}

// Kind is "dir" or "s3": which backend a store URL names.
func Kind(rawURL string) (string, error) {
	_, kind, err := parse(rawURL)
	return kind, err
}

// LocalPath returns the directory a store URL names, for dir stores.
func LocalPath(rawURL string) (string, bool) {
	p, kind, err := parse(rawURL)
	return p, err == nil && kind == "dir"
}

// parse returns the directory (kind "dir") or the URL (kind "s3").
func parse(rawURL string) (string, string, error) {
	switch {
	case rawURL == "":
		return "", "", fmt.Errorf("empty store URL: want s3://bucket/prefix, file:///dir or a directory path")
	case strings.HasPrefix(rawURL, "s3://"):
		if _, _, err := s3store.ParseURL(rawURL); err != nil {
			return "", "", err
		}
		return rawURL, "s3", nil
	case strings.HasPrefix(rawURL, "file://"):
		u, err := url.Parse(rawURL)
		if err != nil || u.Path == "" || (u.Host != "" && u.Host != "localhost") || u.RawQuery != "" || u.Fragment != "" {
			return "", "", fmt.Errorf("store URL %q: want file:///absolute/dir", rawURL)
		}
		return u.Path, "dir", nil
	case strings.Contains(rawURL, "://"):
		return "", "", fmt.Errorf("store URL %q: unknown scheme (lair knows s3:// and file://, or give a directory path)", rawURL)
	}
	return rawURL, "dir", nil
}

// Open opens the store named by rawURL. It does not contact a remote
// store: call Check on the result before running any stage. Close it when
// done.
func Open(ctx context.Context, rawURL string, opts Options) (storage.Store, error) {
	p, kind, err := parse(rawURL)
	if err != nil {
		return nil, err
	}
	if kind == "dir" {
		return dirstore.Open(ctx, p, dirstore.Options{Exclusive: opts.Exclusive, OnWait: opts.OnWait})
	}
	if opts.CacheDir == "" {
		return nil, fmt.Errorf("store %s: no local cache directory given", rawURL)
	}
	remote, err := s3store.Open(rawURL)
	if err != nil {
		return nil, err
	}
	cache, err := dirstore.Open(ctx, opts.CacheDir, dirstore.Options{Exclusive: opts.Exclusive, OnWait: opts.OnWait})
	if err != nil {
		return nil, fmt.Errorf("local cache of %s: %w", rawURL, err)
	}
	return storage.NewCached(remote, cache), nil
}
