package fetch

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func body(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

func hexsum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// server serves one file with Range support and scripted faults.
type server struct {
	data      []byte
	fail5xx   atomic.Int32 // answer this many requests with 503 first
	cutAfter  int          // first full answer stops after this many bytes (0: never)
	stallAt   int          // first full answer stalls after this many bytes (0: never)
	hang      bool         // never answer
	requests  atomic.Int32
	ranges    atomic.Int32
	cutDone   atomic.Bool
	stallDone atomic.Bool
	release   chan struct{}
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	if s.hang {
		select {
		case <-r.Context().Done():
		case <-s.release:
		}
		return
	}
	if s.fail5xx.Load() > 0 {
		s.fail5xx.Add(-1)
		http.Error(w, "busy", http.StatusServiceUnavailable)
		return
	}
	from := 0
	if rg := r.Header.Get("Range"); rg != "" {
		s.ranges.Add(1)
		from, _ = strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(rg, "bytes="), "-"))
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", from, len(s.data)-1, len(s.data)))
		w.Header().Set("Content-Length", strconv.Itoa(len(s.data)-from))
		w.WriteHeader(http.StatusPartialContent)
	} else {
		w.Header().Set("Content-Length", strconv.Itoa(len(s.data)))
	}
	b := s.data[from:]
	if s.cutAfter > 0 && !s.cutDone.Swap(true) {
		w.Write(b[:s.cutAfter])
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // drop the connection mid-body
	}
	if s.stallAt > 0 && !s.stallDone.Swap(true) {
		w.Write(b[:s.stallAt])
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-s.release:
		}
		return
	}
	w.Write(b)
}

func start(t *testing.T, s *server) string {
	t.Helper()
	s.release = make(chan struct{})
	srv := httptest.NewServer(s)
	t.Cleanup(func() { close(s.release); srv.Close() })
	return srv.URL + "/file.bin"
}

func fast() *Client {
	return &Client{HeaderTimeout: 200 * time.Millisecond, IdleTimeout: 200 * time.Millisecond, Backoff: time.Millisecond}
}

func TestGetPinned(t *testing.T) {
	s := &server{data: body(100_000)}
	u := start(t, s)
	dst := filepath.Join(t.TempDir(), "sub", "f")
	c := fast()
	r, err := c.Get(context.Background(), Request{URL: u, Dst: dst, SHA256: hexsum(s.data), Size: int64(len(s.data))})
	if err != nil {
		t.Fatal(err)
	}
	if r.Cached || r.SHA256 != hexsum(s.data) || r.Size != int64(len(s.data)) {
		t.Fatalf("result %+v", r)
	}
	if b, _ := os.ReadFile(dst); !bytes.Equal(b, s.data) {
		t.Fatal("content differs")
	}
	// Second use: from the cache, no request.
	r, err = c.Get(context.Background(), Request{URL: u, Dst: dst, SHA256: hexsum(s.data)})
	if err != nil || !r.Cached || s.requests.Load() != 1 {
		t.Fatalf("second Get: %+v, %v, %d requests; want cached, 1 request", r, err, s.requests.Load())
	}
	if _, err := os.Stat(dst + ".part"); err == nil {
		t.Error("part file left behind")
	}
}

// TestNeverAnswers: a server that accepts the connection and never
// answers fails within the test-sized timeouts, naming URL and file.
func TestNeverAnswers(t *testing.T) {
	s := &server{hang: true}
	u := start(t, s)
	dst := filepath.Join(t.TempDir(), "f")
	c := fast()
	c.Retries = 1
	t0 := time.Now()
	_, err := c.Get(context.Background(), Request{URL: u, Dst: dst})
	took := time.Since(t0)
	var fe *Error
	if !errors.As(err, &fe) {
		t.Fatalf("err = %v; want *Error", err)
	}
	for _, want := range []string{u, dst, "attempt 2 of 2", "timeout"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if took > 3*time.Second {
		t.Errorf("took %v; the header timeout is 200 ms", took)
	}
	if s.requests.Load() != 2 {
		t.Errorf("%d requests; want 2", s.requests.Load())
	}
}

func TestConnectTimeout(t *testing.T) {
	// 10.255.255.1 is unroutable: the dial hangs until the connect timeout.
	c := &Client{ConnectTimeout: 100 * time.Millisecond, Retries: -1}
	t0 := time.Now()
	_, err := c.Get(context.Background(), Request{URL: "http://10.255.255.1:9/x", Dst: filepath.Join(t.TempDir(), "f")})
	if err == nil {
		t.Fatal("no error")
	}
	if time.Since(t0) > 3*time.Second {
		t.Errorf("took %v with a 100 ms connect timeout: %v", time.Since(t0), err)
	}
	if !strings.Contains(err.Error(), "10.255.255.1") {
		t.Errorf("error %q does not name the URL", err)
	}
}

func TestRetry5xxThenSuccess(t *testing.T) {
	s := &server{data: body(5000)}
	s.fail5xx.Store(2)
	u := start(t, s)
	c := fast()
	if _, err := c.Get(context.Background(), Request{URL: u, Dst: filepath.Join(t.TempDir(), "f"), SHA256: hexsum(s.data)}); err != nil {
		t.Fatal(err)
	}
	if s.requests.Load() != 3 {
		t.Errorf("%d requests; want 3 (two 503s, then the file)", s.requests.Load())
	}
	// Retries spent: the error says 503 and how many attempts.
	s2 := &server{data: body(10)}
	s2.fail5xx.Store(100)
	u2 := start(t, s2)
	c.Retries = 2
	_, err := c.Get(context.Background(), Request{URL: u2, Dst: filepath.Join(t.TempDir(), "f")})
	if err == nil || !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), "attempt 3 of 3") {
		t.Fatalf("err = %v", err)
	}
}

func TestNotFoundNotRetried(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	dst := filepath.Join(t.TempDir(), "f")
	_, err := fast().Get(context.Background(), Request{URL: srv.URL + "/x", Dst: dst})
	var se *StatusError
	if !errors.As(err, &se) || se.Code != 404 || !strings.Contains(err.Error(), "attempt 1 of 5") || !strings.Contains(err.Error(), dst) {
		t.Fatalf("err = %v", err)
	}
}

func TestTruncatedThenResume(t *testing.T) {
	s := &server{data: body(200_000), cutAfter: 70_000}
	u := start(t, s)
	dst := filepath.Join(t.TempDir(), "f")
	if _, err := fast().Get(context.Background(), Request{URL: u, Dst: dst, SHA256: hexsum(s.data), Size: int64(len(s.data))}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(dst); !bytes.Equal(b, s.data) {
		t.Fatal("content differs after resume")
	}
	if s.ranges.Load() != 1 || s.requests.Load() != 2 {
		t.Errorf("%d requests, %d with Range; want 2 and 1", s.requests.Load(), s.ranges.Load())
	}
}

func TestStallThenResume(t *testing.T) {
	s := &server{data: body(50_000), stallAt: 20_000}
	u := start(t, s)
	dst := filepath.Join(t.TempDir(), "f")
	c := fast()
	if _, err := c.Get(context.Background(), Request{URL: u, Dst: dst, SHA256: hexsum(s.data)}); err != nil {
		t.Fatal(err)
	}
	if s.ranges.Load() != 1 {
		t.Errorf("%d range requests; want 1 (resume after the stall)", s.ranges.Load())
	}
}

func TestWrongHash(t *testing.T) {
	s := &server{data: body(1000)}
	u := start(t, s)
	dir := t.TempDir()
	dst := filepath.Join(dir, "f")
	want := hexsum([]byte("something else"))
	_, err := fast().Get(context.Background(), Request{URL: u, Dst: dst, SHA256: want})
	var ce *ChecksumError
	if !errors.As(err, &ce) || ce.Expected != want || ce.Actual != hexsum(s.data) || ce.URL != u {
		t.Fatalf("err = %v; want a ChecksumError with both hashes", err)
	}
	if !strings.Contains(err.Error(), u) {
		t.Errorf("error %q does not name the URL", err)
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".lock") {
			t.Errorf("left behind after a mismatch: %s", e.Name())
		}
	}
	if s.requests.Load() != 1 {
		t.Errorf("a checksum mismatch was retried: %d requests", s.requests.Load())
	}
}

// flip changes one byte of a file in place and restores its mtime, the
// way silent corruption (or a careless edit) looks.
func flip(t *testing.T, path string, at int64) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 1)
	f.ReadAt(b, at)
	b[0] ^= 0x20
	f.WriteAt(b, at)
	f.Close()
	os.Chtimes(path, st.ModTime(), st.ModTime())
}

func TestFlippedByteInCache(t *testing.T) {
	for _, pinned := range []bool{true, false} {
		t.Run(fmt.Sprintf("pinned=%v", pinned), func(t *testing.T) {
			s := &server{data: body(30_000)}
			u := start(t, s)
			dst := filepath.Join(t.TempDir(), "f")
			req := Request{URL: u, Dst: dst}
			if pinned {
				req.SHA256 = hexsum(s.data)
			}
			c := fast()
			if _, err := c.Get(context.Background(), req); err != nil {
				t.Fatal(err)
			}
			flip(t, dst, 12345)
			// Verify alone: a clear error naming the file.
			_, err := Verify(dst, req.SHA256)
			var ce *ChecksumError
			if !errors.As(err, &ce) || !ce.Cached || !strings.Contains(err.Error(), dst) {
				t.Fatalf("Verify after a flipped byte: %v; want a ChecksumError naming %s", err, dst)
			}
			// Get: downloaded again, never used silently.
			r, err := c.Get(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if r.Cached || s.requests.Load() != 2 {
				t.Fatalf("flipped file used from the cache (%+v, %d requests)", r, s.requests.Load())
			}
			if b, _ := os.ReadFile(dst); !bytes.Equal(b, s.data) {
				t.Fatal("content still corrupt")
			}
		})
	}
}

func TestVerifyWithoutMarker(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	os.WriteFile(p, []byte("abc"), 0o644)
	if _, err := Verify(p, ""); !errors.Is(err, ErrUnverifiable) {
		t.Fatalf("err = %v; want ErrUnverifiable", err)
	}
	sum, err := Verify(p, hexsum([]byte("abc")))
	if err != nil || sum != hexsum([]byte("abc")) {
		t.Fatalf("%s, %v", sum, err)
	}
	// Now marked: checking against the learned hash works without a pin.
	if sum, err := Verify(p, ""); err != nil || sum != hexsum([]byte("abc")) {
		t.Fatalf("%s, %v", sum, err)
	}
}

func TestConcurrentGetsDownloadOnce(t *testing.T) {
	s := &server{data: body(300_000)}
	u := start(t, s)
	dst := filepath.Join(t.TempDir(), "f")
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := fast().Get(context.Background(), Request{URL: u, Dst: dst, SHA256: hexsum(s.data)}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if s.requests.Load() != 1 {
		t.Errorf("%d requests for one file fetched by 4 goroutines; want 1", s.requests.Load())
	}
}

func TestHeadRetries(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		w.Header().Set("Location", "/elsewhere")
		w.WriteHeader(http.StatusFound)
	}))
	defer srv.Close()
	resp, err := fast().Head(context.Background(), srv.URL, nil)
	if err != nil || resp.StatusCode != http.StatusFound {
		t.Fatalf("%v, %v; want the 302 itself after one retry", resp, err)
	}
}

func TestCancel(t *testing.T) {
	s := &server{hang: true}
	u := start(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	c := &Client{Backoff: time.Millisecond}
	_, err := c.Get(ctx, Request{URL: u, Dst: filepath.Join(t.TempDir(), "f")})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v; want the context's deadline", err)
	}
}

// TestVerifyReadOnlyCache: an intact file in a cache that cannot be
// written to is verified by hashing (no marker can be written).
func TestVerifyReadOnlyCache(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root ignores directory permissions")
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	os.WriteFile(p, []byte("abc"), 0o644)
	os.Chmod(dir, 0o555)
	defer os.Chmod(dir, 0o755)
	if sum, err := Verify(p, hexsum([]byte("abc"))); err != nil || sum != hexsum([]byte("abc")) {
		t.Fatalf("%s, %v", sum, err)
	}
}
