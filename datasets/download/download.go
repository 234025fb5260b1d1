package download

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
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

// ChecksumError reports a downloaded file whose sha256 differs from the pinned one.
type ChecksumError struct {
	URL, Expected, Actual string
}

func (e *ChecksumError) Error() string {
	return fmt.Sprintf("checksum mismatch for %s: expected sha256 %s, got %s (nothing was cached; the mirror or origin serves a different file)", e.URL, e.Expected, e.Actual)
}

// Client downloads pinned files into a checksum-keyed cache.
type Client struct {
	// Mirror replaces the origin: "" (official URLs), a directory, a
	// file:// URL or an http(s) base URL. Files are looked up at
	// <mirror>/<dataset>/<name>.
	Mirror string
	// CacheDir is the lair cache; files land in CacheDir/downloads/sha256/<hash>.
	CacheDir string
	// HTTP is the client used for URLs (nil: a client with a 60 s header timeout).
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

// DefaultCacheDir is $LAIR_CACHE or <user cache dir>/lair.
func DefaultCacheDir() string {
	if d := os.Getenv("LAIR_CACHE"); d != "" {
		return d
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "lair-cache")
	}
	return filepath.Join(d, "lair")
}

func (c *Client) cacheDir() string {
	if c.CacheDir != "" {
		return c.CacheDir
	}
	return DefaultCacheDir()
}

// CachePath is where a file with that sha256 is cached.
func (c *Client) CachePath(sha string) string {
	return filepath.Join(c.cacheDir(), "downloads", "sha256", sha)
}

// partialDir holds partial downloads and locks: CacheDir/downloads/partial.
func (c *Client) partialDir() string {
	return filepath.Join(c.cacheDir(), "downloads", "partial")
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
	out := make([]string, len(srcs))
	for i, s := range srcs {
		p, err := c.fetch(ctx, s)
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
	return c.fetch(ctx, s)
}

func (c *Client) fetch(ctx context.Context, s Source) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	dst := c.CachePath(s.SHA256)
	if st, err := os.Stat(dst); err == nil && (s.Size == 0 || st.Size() == s.Size) {
		c.progress().Add(st.Size())
		return dst, nil
	}
	for _, d := range []string{filepath.Dir(dst), c.partialDir()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return "", fmt.Errorf("download cache: %w", err)
		}
	}
	// One fetch per file at a time, across processes sharing the cache.
	unlock, err := lock(ctx, filepath.Join(c.partialDir(), s.SHA256+".lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	if st, err := os.Stat(dst); err == nil && (s.Size == 0 || st.Size() == s.Size) {
		c.progress().Add(st.Size())
		return dst, nil
	}
	loc, local := c.Location(s)
	if local {
		return dst, c.copyLocal(ctx, s, loc, dst)
	}
	return dst, c.download(ctx, s, loc, dst)
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
	tmp, err := os.CreateTemp(c.partialDir(), s.SHA256+".*.tmp")
	if err != nil {
		return fmt.Errorf("download cache: %w", err)
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(tmp, h), &ctxReader{ctx: ctx, r: f, p: c.progress()}); err != nil {
		tmp.Close()
		return fmt.Errorf("copy %s: %w", src, err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != s.SHA256 {
		return &ChecksumError{URL: src, Expected: s.SHA256, Actual: got}
	}
	return os.Rename(tmp.Name(), dst)
}

// retryable reports whether an error is worth another try.
type statusError struct {
	url  string
	code int
}

func (e *statusError) Error() string {
	return fmt.Sprintf("GET %s: HTTP %d %s", e.url, e.code, http.StatusText(e.code))
}

func retryable(err error) bool {
	var se *statusError
	if errors.As(err, &se) {
		return se.code == http.StatusTooManyRequests || se.code >= 500
	}
	var ce *ChecksumError
	if errors.As(err, &ce) {
		return false
	}
	return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}

func (c *Client) download(ctx context.Context, s Source, u, dst string) error {
	part := filepath.Join(c.partialDir(), s.SHA256+".part")
	retries := c.Retries
	if retries <= 0 {
		retries = 4
	}
	wait := c.Backoff
	if wait <= 0 {
		wait = time.Second
	}
	if st, err := os.Stat(part); err == nil {
		c.progress().Add(st.Size()) // left by an earlier run; resumed below
	}
	var err error
	for attempt := 0; ; attempt++ {
		err = c.try(ctx, s, u, part)
		if err == nil {
			break
		}
		if attempt >= retries || !retryable(err) || ctx.Err() != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("download %s: %w", u, ctx.Err())
			}
			return fmt.Errorf("download %s (attempt %d of %d): %w", u, attempt+1, retries+1, err)
		}
		c.log().Warn("download failed; retrying", "url", u, "attempt", attempt+1, "wait", wait, "err", err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("download %s: %w", u, ctx.Err())
		case <-time.After(wait):
		}
		wait *= 2
	}
	got, err := hashFile(part)
	if err != nil {
		return err
	}
	if got != s.SHA256 {
		os.Remove(part)
		return &ChecksumError{URL: u, Expected: s.SHA256, Actual: got}
	}
	return os.Rename(part, dst)
}

// try performs one GET, resuming part when it holds a prefix of the file.
func (c *Client) try(ctx context.Context, s Source, u, part string) error {
	var have int64
	if st, err := os.Stat(part); err == nil {
		have = st.Size()
	}
	if s.Size > 0 && have > s.Size {
		os.Remove(part)
		have = 0
	}
	if s.Size > 0 && have == s.Size {
		return nil // complete; the checksum decides
	}
	idle := c.IdleTimeout
	if idle <= 0 {
		idle = 60 * time.Second
	}
	actx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stalled := fmt.Errorf("no data for %v: transfer stalled", idle)
	watchdog := time.AfterFunc(idle, func() { cancel(stalled) })
	defer watchdog.Stop()
	req, err := http.NewRequestWithContext(actx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	if have > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(have, 10)+"-")
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Transport: &http.Transport{Proxy: http.ProxyFromEnvironment, ResponseHeaderTimeout: 60 * time.Second}}
	}
	resp, err := hc.Do(req)
	if err != nil {
		if context.Cause(actx) == stalled {
			return stalled
		}
		return err
	}
	defer resp.Body.Close()
	flags := os.O_WRONLY | os.O_CREATE
	switch {
	case resp.StatusCode == http.StatusPartialContent && have > 0:
		if !strings.HasPrefix(resp.Header.Get("Content-Range"), "bytes "+strconv.FormatInt(have, 10)+"-") {
			os.Remove(part)
			return fmt.Errorf("GET %s: server answered range %q to a request from byte %d; restarting", u, resp.Header.Get("Content-Range"), have)
		}
		flags |= os.O_APPEND
		c.log().Info("resuming download", "url", u, "from_byte", have)
	case resp.StatusCode == http.StatusOK:
		flags |= os.O_TRUNC // server ignored the range: start over
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable:
		os.Remove(part)
		return &statusError{url: u, code: resp.StatusCode}
	default:
		return &statusError{url: u, code: resp.StatusCode}
	}
	f, err := os.OpenFile(part, flags, 0o644)
	if err != nil {
		return fmt.Errorf("download cache: %w", err)
	}
	_, cerr := io.Copy(f, &ctxReader{ctx: ctx, r: resp.Body, p: c.progress(), onRead: func() { watchdog.Reset(idle) }})
	if err := f.Close(); err != nil && cerr == nil {
		cerr = err
	}
	if cerr != nil {
		if context.Cause(actx) == stalled && ctx.Err() == nil {
			cerr = stalled
		}
		return fmt.Errorf("GET %s: %w", u, cerr)
	}
	return nil
}

func hashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// ctxReader stops a copy when the context is cancelled and reports bytes.
type ctxReader struct {
	ctx    context.Context
	r      io.Reader
	p      Progress
	onRead func() // called after each read that returned data
}

func (r *ctxReader) Read(b []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := r.r.Read(b)
	if n > 0 {
		r.p.Add(int64(n))
		if r.onRead != nil {
			r.onRead()
		}
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

// lock takes an exclusive flock on path, waiting (cancellably) while another
// process holds it.
func lock(ctx context.Context, path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("download cache: %w", err)
	}
	wait := 5 * time.Millisecond
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("waiting for %s (another lair downloads this file): %w", path, ctx.Err())
		case <-time.After(wait):
		}
		wait = min(wait*2, 200*time.Millisecond)
	}
}
