package download

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/lair-ir/lair/internal/cachedir"
	"github.com/lair-ir/lair/internal/fetch"
	"github.com/lair-ir/lair/internal/fsutil"
)

// Source is one pinned raw file.
type Source struct {
	Dataset string // directory in a mirror, e.g. "xquad-r"
	Name    string // file name in a mirror, e.g. "de.json"
	Repo    string // GitHub owner/name of the origin
	Commit  string // full 40-hex commit of the origin
	Path    string // path inside the origin repository
	Size    int64  // bytes
	SHA256  string // lowercase hex
}

// URL is the official download address of the file.
func (s Source) URL() string {
	return "https://raw.githubusercontent.com/" + s.Repo + "/" + s.Commit + "/" + s.Path
}

// RelPath is the file's path in a mirror: Dataset/Name.
func (s Source) RelPath() string { return s.Dataset + "/" + s.Name }

// Lookup returns the pinned source of a mirror-relative file.
func Lookup(dataset, name string) (Source, bool) {
	for _, s := range Sources {
		if s.Dataset == dataset && s.Name == name {
			return s, true
		}
	}
	return Source{}, false
}

// ChecksumError reports a downloaded (or cached) file whose sha256 differs
// from the pinned one.
type ChecksumError = fetch.ChecksumError

// Client downloads pinned files into a checksum-keyed cache.
type Client struct {
	// Mirror replaces the origin: "" (official URLs), a directory, a
	// file:// URL or an http(s) base URL. Files are looked up at
	// <mirror>/<dataset>/<name>.
	Mirror string
	// CacheDir is the lair cache; files land in CacheDir/downloads/sha256/<hash>.
	CacheDir string
	// HTTP is the client used for URLs (nil: internal/fetch's, with connect
	// and header timeouts).
	HTTP *http.Client
	// Retries is how many times a failed transfer is retried (0: 4).
	Retries int
	// Backoff is the first wait between retries, doubled each time (0: 1 s).
	Backoff time.Duration
	// IdleTimeout aborts (and retries) a transfer that receives no byte for
	// this long (0: 60 s).
	IdleTimeout time.Duration
	Progress    Progress
	Log         *slog.Logger
}

// Progress receives byte counts; Progress satisfies it.
type Progress interface {
	Start(phase string, total int64)
	Add(n int64)
}

type nopProgress struct{}

func (nopProgress) Start(string, int64) {}
func (nopProgress) Add(int64)           {}

func (c *Client) cacheDir() (string, error) {
	return cachedir.Dir(c.CacheDir)
}

// CachePath is where a file with that sha256 is cached.
func (c *Client) CachePath(sha string) string {
	d, err := c.cacheDir()
	if err != nil {
		d = "."
	}
	return filepath.Join(d, "downloads", "sha256", sha)
}

// partialDir holds partial downloads and locks: CacheDir/downloads/partial.
func (c *Client) partialDir() string {
	return filepath.Join(filepath.Dir(filepath.Dir(c.CachePath("x"))), "partial")
}

func (c *Client) progress() Progress {
	if c.Progress == nil {
		return nopProgress{}
	}
	return c.Progress
}

func (c *Client) log() *slog.Logger {
	if c.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Log
}

func (c *Client) fetcher() *fetch.Client {
	return &fetch.Client{HTTP: c.HTTP, IdleTimeout: c.IdleTimeout, Retries: c.Retries,
		Backoff: c.Backoff, Progress: c.progress(), Log: c.log()}
}

// Location is where a source is fetched from under the client's mirror
// setting: a local path (local=true) or a URL.
func (c *Client) Location(s Source) (loc string, local bool) {
	m := c.Mirror
	switch {
	case m == "":
		return s.URL(), false
	case strings.HasPrefix(m, "http://"), strings.HasPrefix(m, "https://"):
		return strings.TrimRight(m, "/") + "/" + s.RelPath(), false
	case strings.HasPrefix(m, "file://"):
		u, err := url.Parse(m)
		if err == nil {
			m = u.Path
		}
	}
	return filepath.Join(m, s.Dataset, s.Name), true
}

// FetchAll fetches several sources, returning their cached paths in order.
func (c *Client) FetchAll(ctx context.Context, srcs []Source) ([]string, error) {
	var total int64
	for _, s := range srcs {
		total += s.Size
	}
	c.progress().Start("download", total)
	fc := c.fetcher()
	out := make([]string, len(srcs))
	for i, s := range srcs {
		p, err := c.fetch(ctx, fc, s)
		if err != nil {
			return nil, err
		}
		out[i] = p
	}
	return out, nil
}

// Fetch returns the path of the verified, cached copy of s, downloading it
// (or copying it from a directory mirror) when it is not cached yet.
func (c *Client) Fetch(ctx context.Context, s Source) (string, error) {
	c.progress().Start("download", s.Size)
	return c.fetch(ctx, c.fetcher(), s)
}

func (c *Client) fetch(ctx context.Context, fc *fetch.Client, s Source) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if _, err := c.cacheDir(); err != nil {
		return "", err
	}
	dst := c.CachePath(s.SHA256)
	loc, local := c.Location(s)
	if !local {
		r, err := fc.Get(ctx, fetch.Request{URL: loc, Dst: dst, SHA256: s.SHA256, Size: s.Size, WorkDir: c.partialDir()})
		return r.Path, err
	}
	if ok, err := c.cached(dst, s); ok || err != nil {
		return dst, err
	}
	for _, d := range []string{filepath.Dir(dst), c.partialDir()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return "", fmt.Errorf("download cache: %w", err)
		}
	}
	// One copy per file at a time, across processes sharing the cache.
	lock, err := fsutil.Acquire(ctx, filepath.Join(c.partialDir(), s.SHA256+".lock"), fsutil.LockOptions{
		Note: "copying " + loc,
		OnWait: func(h fsutil.Holder) {
			c.log().Info("waiting for another copy of the same file", "file", s.RelPath(), "holder", h.String())
		},
	})
	if err != nil {
		return "", fmt.Errorf("download cache: %w", err)
	}
	defer lock.Unlock()
	if ok, err := c.cached(dst, s); ok || err != nil {
		return dst, err
	}
	return dst, c.copyLocal(ctx, s, loc, dst)
}

// cached reports whether dst holds s intact (verified by hash, see
// fetch.Verify); a corrupt copy is removed so that it is fetched again.
func (c *Client) cached(dst string, s Source) (bool, error) {
	_, err := fetch.Verify(dst, s.SHA256)
	switch {
	case err == nil:
		st, _ := os.Stat(dst)
		c.progress().Add(st.Size())
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	}
	c.log().Warn("cached file failed verification; fetching it again", "file", dst, "err", err)
	return false, fetch.Remove(dst)
}

func (c *Client) copyLocal(ctx context.Context, s Source, src, dst string) error {
	f, err := os.Open(src)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("mirror %s has no %s (expected the file at %s; a mirror keeps the layout <dataset>/<file>)", c.Mirror, s.RelPath(), src)
		}
		return fmt.Errorf("mirror: %w", err)
	}
	defer f.Close()
	out, err := fsutil.Create(dst, 0o644)
	if err != nil {
		return fmt.Errorf("download cache: %w", err)
	}
	defer out.Cleanup()
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(out, h), &ctxReader{ctx: ctx, r: f, p: c.progress()}); err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	got := hex.EncodeToString(h.Sum(nil))
	if got != s.SHA256 {
		return &ChecksumError{URL: src, Expected: s.SHA256, Actual: got}
	}
	if err := out.Commit(); err != nil {
		return err
	}
	return fetch.MarkVerified(dst, got)
}

func hashFile(path string) (string, error) { return fetch.HashFile(path) }

// ctxReader stops a copy when the context is cancelled and reports bytes.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
	p   Progress
}

func (r *ctxReader) Read(b []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := r.r.Read(b)
	if n > 0 {
		r.p.Add(int64(n))
	}
	return n, err
}

// Dataset returns the pinned sources of one dataset, in table order.
func Dataset(dataset string) []Source {
	var out []Source
	for _, s := range Sources {
		if s.Dataset == dataset {
			out = append(out, s)
		}
	}
	return out
}
