package fetch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lair-ir/lair/internal/fsutil"
)

// Progress receives the number of bytes fetched (or found in the cache).
type Progress interface {
	Add(n int64)
}

// Client downloads files. The zero value is ready to use with the
// defaults below; set fields before the first call and do not change them
// afterwards.
type Client struct {
	// HTTP is the client for requests. nil: one built from the timeouts
	// below (a given client keeps its own connect and header timeouts;
	// IdleTimeout applies to both).
	HTTP *http.Client
	// ConnectTimeout bounds dialling and the TLS handshake (0: 30 s).
	ConnectTimeout time.Duration
	// HeaderTimeout bounds the wait for a response's headers (0: 60 s).
	HeaderTimeout time.Duration
	// IdleTimeout aborts (and retries) a body that delivers no byte for
	// this long (0: 60 s).
	IdleTimeout time.Duration
	// Retries is how many times a failed attempt is retried (0: 4; <0: none).
	Retries int
	// Backoff is the first wait between attempts, doubled each time up to
	// 30 s (0: 1 s).
	Backoff  time.Duration
	Progress Progress
	Log      *slog.Logger

	once sync.Once
	hc   *http.Client
}

// Request describes one file to fetch.
type Request struct {
	URL    string
	Header http.Header // extra request headers (Authorization, User-Agent)
	// Dst is where the verified file ends up; its directory is created.
	Dst string
	// SHA256 is the expected lowercase hex sha256; "" learns it.
	SHA256 string
	// Size is the expected size in bytes; <= 0 when unknown.
	Size int64
	// WorkDir holds the download's .part and .lock files (default: Dst's
	// directory); it must be on Dst's file system.
	WorkDir string
}

func (r Request) work(suffix string) string {
	if r.WorkDir == "" {
		return r.Dst + suffix
	}
	return filepath.Join(r.WorkDir, filepath.Base(r.Dst)+suffix)
}

// Result is a fetched (or already cached) file.
type Result struct {
	Path   string
	SHA256 string
	Size   int64
	Cached bool // it was in the cache and intact; nothing was downloaded
}

func (c *Client) log() *slog.Logger {
	if c.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Log
}

func (c *Client) add(n int64) {
	if c.Progress != nil && n > 0 {
		c.Progress.Add(n)
	}
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

func (c *Client) maxAttempts() int {
	switch {
	case c.Retries < 0:
		return 1
	case c.Retries == 0:
		return 5
	}
	return c.Retries + 1
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	c.once.Do(func() { c.hc = c.newHTTPClient() })
	return c.hc
}

func (c *Client) newHTTPClient() *http.Client {
	connect := orDefault(c.ConnectTimeout, 30*time.Second)
	return &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: connect, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   connect,
		ResponseHeaderTimeout: orDefault(c.HeaderTimeout, 60*time.Second),
		ForceAttemptHTTP2:     true,
		MaxIdleConnsPerHost:   4,
	}}
}

// retry runs attempt until it succeeds, fails for good, or the attempts
// are spent, waiting with exponential backoff in between. It returns the
// number of attempts made.
func (c *Client) retry(ctx context.Context, what string, attempt func(n int) error) (int, error) {
	wait := orDefault(c.Backoff, time.Second)
	max := c.maxAttempts()
	for n := 1; ; n++ {
		err := attempt(n)
		if err == nil {
			return n, nil
		}
		if ctx.Err() != nil {
			return n, ctx.Err()
		}
		if n >= max || !retryable(err) {
			return n, err
		}
		c.log().Warn("download failed; retrying", "what", what, "attempt", n, "of", max, "wait", wait, "err", err)
		select {
		case <-ctx.Done():
			return n, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(wait*2, 30*time.Second)
	}
}

// Head sends a HEAD request without following redirects, retrying network
// errors, 429 and 5xx like a download. The response's body is closed; any
// other status is returned for the caller to interpret.
func (c *Client) Head(ctx context.Context, u string, header http.Header) (*http.Response, error) {
	hc := *c.httpClient()
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	var resp *http.Response
	n, err := c.retry(ctx, u, func(int) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodHead, u, nil)
		if err != nil {
			return err
		}
		for k, v := range header {
			req.Header[k] = v
		}
		r, err := hc.Do(req)
		if err != nil {
			return err
		}
		r.Body.Close()
		if r.StatusCode == http.StatusTooManyRequests || r.StatusCode >= 500 {
			return &StatusError{URL: u, Code: r.StatusCode, Header: r.Header}
		}
		resp = r
		return nil
	})
	if err != nil {
		return nil, &Error{URL: u, File: "(HEAD)", Attempts: n, Max: c.maxAttempts(), Err: err}
	}
	return resp, nil
}

// Get makes sure req.Dst holds the verified file, downloading it when it
// is missing or corrupt.
func (c *Client) Get(ctx context.Context, req Request) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	if r, ok := c.cached(req); ok {
		return r, nil
	}
	for _, d := range []string{filepath.Dir(req.Dst), req.WorkDir} {
		if d == "" {
			continue
		}
		if err := os.MkdirAll(d, 0o755); err != nil {
			return Result{}, &Error{URL: req.URL, File: req.Dst, Err: err}
		}
	}
	lock, err := fsutil.Acquire(ctx, req.work(".lock"), fsutil.LockOptions{
		Note: "downloading " + req.URL,
		OnWait: func(h fsutil.Holder) {
			c.log().Info("waiting for another download of the same file", "file", req.Dst, "holder", h.String())
		},
	})
	if err != nil {
		return Result{}, &Error{URL: req.URL, File: req.Dst, Err: err}
	}
	defer lock.Unlock()
	if r, ok := c.cached(req); ok { // fetched by the holder we waited for
		return r, nil
	}
	part := req.work(".part")
	if st, err := os.Stat(part); err == nil {
		if req.Size > 0 && st.Size() > req.Size {
			os.Remove(part)
		} else {
			c.add(st.Size()) // left by an earlier run; resumed below
		}
	}
	ph := &partHash{h: sha256.New()}
	n, err := c.retry(ctx, req.URL, func(int) error { return c.try(ctx, req, part, ph) })
	if err == nil {
		var sum string
		if st, serr := os.Stat(part); serr == nil && st.Size() == ph.n {
			sum = hex.EncodeToString(ph.h.Sum(nil)) // hashed while it was written
		} else {
			sum, err = HashFile(part)
		}
		if err == nil && req.SHA256 != "" && sum != req.SHA256 {
			os.Remove(part)
			err = &ChecksumError{URL: req.URL, Expected: req.SHA256, Actual: sum}
		}
		if err == nil {
			err = fsutil.CommitFile(part, req.Dst)
		}
		if err == nil {
			err = MarkVerified(req.Dst, sum)
		}
		if err == nil {
			st, _ := os.Stat(req.Dst)
			return Result{Path: req.Dst, SHA256: sum, Size: st.Size()}, nil
		}
	}
	var ce *ChecksumError
	if errors.As(err, &ce) {
		return Result{}, err // names the URL and both hashes already
	}
	return Result{}, &Error{URL: req.URL, File: req.Dst, Attempts: n, Max: c.maxAttempts(), Err: err}
}

// cached reports whether req.Dst is in place and intact. A corrupt file is
// removed (and logged) so that it is fetched again.
func (c *Client) cached(req Request) (Result, bool) {
	sum, err := Verify(req.Dst, req.SHA256)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			c.log().Warn("cached file failed verification; downloading it again", "file", req.Dst, "err", err)
			Remove(req.Dst)
		}
		return Result{}, false
	}
	st, err := os.Stat(req.Dst)
	if err != nil || (req.Size > 0 && st.Size() != req.Size) {
		return Result{}, false
	}
	c.add(st.Size())
	return Result{Path: req.Dst, SHA256: sum, Size: st.Size(), Cached: true}, true
}

// try performs one GET, resuming part when it holds a prefix of the file.
func (c *Client) try(ctx context.Context, req Request, part string, ph *partHash) error {
	var have int64
	if st, err := os.Stat(part); err == nil {
		have = st.Size()
	}
	if req.Size > 0 && have == req.Size {
		return nil // complete; the checksum decides
	}
	idle := orDefault(c.IdleTimeout, 60*time.Second)
	actx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stalled := fmt.Errorf("no data for %v: transfer stalled", idle)
	hr, err := http.NewRequestWithContext(actx, http.MethodGet, req.URL, nil)
	if err != nil {
		return err
	}
	for k, v := range req.Header {
		hr.Header[k] = v
	}
	if have > 0 {
		hr.Header.Set("Range", "bytes="+strconv.FormatInt(have, 10)+"-")
	}
	resp, err := c.httpClient().Do(hr)
	if err != nil {
		if context.Cause(actx) == stalled && ctx.Err() == nil {
			return stalled
		}
		return err
	}
	defer resp.Body.Close()
	// Headers came (HeaderTimeout bounds that wait); from here on the body
	// must keep flowing.
	watchdog := time.AfterFunc(idle, func() { cancel(stalled) })
	defer watchdog.Stop()
	flags := os.O_WRONLY | os.O_CREATE
	switch {
	case resp.StatusCode == http.StatusPartialContent && have > 0:
		if !strings.HasPrefix(resp.Header.Get("Content-Range"), "bytes "+strconv.FormatInt(have, 10)+"-") {
			os.Remove(part)
			return fmt.Errorf("GET %s: server answered range %q to a request from byte %d; restarting", req.URL, resp.Header.Get("Content-Range"), have)
		}
		flags |= os.O_APPEND
		c.log().Info("resuming download", "url", req.URL, "from_byte", have)
	case resp.StatusCode == http.StatusOK:
		flags |= os.O_TRUNC // no range asked, or the server ignored it: start over
		if have > 0 {
			c.add(-have)
			have = 0
		}
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable:
		os.Remove(part) // the part is longer than the file: start over
		return &StatusError{URL: req.URL, Code: resp.StatusCode, Header: resp.Header}
	default:
		return &StatusError{URL: req.URL, Code: resp.StatusCode, Header: resp.Header}
	}
	f, err := os.OpenFile(part, flags, 0o644)
	if err != nil {
		return err
	}
	if err := ph.start(part, have); err != nil {
		f.Close()
		return err
	}
	n, cerr := io.Copy(io.MultiWriter(f, ph), &watchReader{ctx: ctx, r: resp.Body, c: c, onRead: func() { watchdog.Reset(idle) }})
	if err := f.Close(); err != nil && cerr == nil {
		cerr = err
	}
	if cerr != nil {
		if context.Cause(actx) == stalled && ctx.Err() == nil {
			cerr = stalled
		}
		return fmt.Errorf("GET %s: %w after %d bytes", req.URL, cerr, have+n)
	}
	if req.Size > 0 && have+n != req.Size {
		if have+n > req.Size {
			os.Remove(part)
		}
		return fmt.Errorf("GET %s: body ended after %d of %d bytes", req.URL, have+n, req.Size)
	}
	return nil
}

// partHash is the running sha256 of the part file, so that a finished
// download needs no second pass over the file. When it does not cover
// exactly the bytes a resumed transfer appends to, it is rebuilt from the
// part file; Get falls back to hashing the file when the counts differ.
type partHash struct {
	h hash.Hash
	n int64
}

func (p *partHash) Write(b []byte) (int, error) {
	p.h.Write(b)
	p.n += int64(len(b))
	return len(b), nil
}

// start prepares the hash for appending at offset have of part.
func (p *partHash) start(part string, have int64) error {
	if p.n == have {
		return nil
	}
	p.h.Reset()
	p.n = 0
	if have == 0 {
		return nil
	}
	f, err := os.Open(part)
	if err != nil {
		return err
	}
	defer f.Close()
	m, err := io.CopyN(p.h, f, have)
	p.n = m
	return err
}

// watchReader stops a copy when ctx ends, reports bytes and feeds the
// idle watchdog.
type watchReader struct {
	ctx    context.Context
	r      io.Reader
	c      *Client
	onRead func()
}

func (r *watchReader) Read(b []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := r.r.Read(b)
	if n > 0 {
		r.c.add(int64(n))
		r.onRead()
	}
	return n, err
}
