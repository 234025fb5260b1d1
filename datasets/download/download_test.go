package download

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lair-ir/lair/internal/testenv"
)

type countProgress struct{ n atomic.Int64 }

func (p *countProgress) Start(string, int64) {}
func (p *countProgress) Add(n int64)         { p.n.Add(n) }

func TestSourcesPinned(t *testing.T) {
	if len(Sources) != 54 {
		t.Fatalf("have %d sources, SOURCES.md lists 54", len(Sources))
	}
	for _, s := range Sources {
		if len(s.Commit) != 40 || len(s.SHA256) != 64 {
			t.Errorf("%s: commit %q / sha %q not full length", s.RelPath(), s.Commit, s.SHA256)
		}
	}
	s, ok := Lookup("mlqa-r", "de.json")
	if !ok {
		t.Fatal("mlqa-r/de.json not pinned")
	}
	want := "https://raw.githubusercontent.com/google-research-datasets/lareqa/354d67d1cd066854cdfbf5ad0e6105528976141d/mlqa-r/de.json"
	if s.URL() != want {
		t.Errorf("URL = %s, want %s", s.URL(), want)
	}
}

// TestSourcesMatchRaw checks every pinned size and hash against the shared mirror.
func TestSourcesMatchRaw(t *testing.T) {
	raw := testenv.RawDir(t)
	for _, s := range Sources {
		b, err := os.ReadFile(filepath.Join(raw, s.Dataset, s.Name))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		if int64(len(b)) != s.Size || hex.EncodeToString(sum[:]) != s.SHA256 {
			t.Errorf("%s: size %d sha %x, pinned %d %s", s.RelPath(), len(b), sum, s.Size, s.SHA256)
		}
	}
}

func TestDirectoryMirror(t *testing.T) {
	raw := testenv.RawDir(t)
	p := &countProgress{}
	c := &Client{Mirror: raw, CacheDir: t.TempDir(), Progress: p}
	srcs := Dataset("xquad-r")[:2]
	paths, err := c.FetchAll(context.Background(), srcs)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range srcs {
		if paths[i] != c.CachePath(s.SHA256) {
			t.Errorf("path %s, want %s", paths[i], c.CachePath(s.SHA256))
		}
		if h, _ := hashFile(paths[i]); h != s.SHA256 {
			t.Errorf("%s: cached hash %s", s.Name, h)
		}
	}
	if p.n.Load() != srcs[0].Size+srcs[1].Size {
		t.Errorf("progress %d bytes, want %d", p.n.Load(), srcs[0].Size+srcs[1].Size)
	}
	// file:// form and the cache hit.
	c.Mirror = "file://" + raw
	if _, err := c.Fetch(context.Background(), srcs[0]); err != nil {
		t.Fatal(err)
	}
}

func TestDirectoryMirrorMissingFile(t *testing.T) {
	c := &Client{Mirror: t.TempDir(), CacheDir: t.TempDir()}
	_, err := c.Fetch(context.Background(), Dataset("mlqa-r")[0])
	if err == nil || !strings.Contains(err.Error(), "mlqa-r/ar.json") {
		t.Fatalf("err = %v, want one naming mlqa-r/ar.json", err)
	}
}

// flaky serves the raw dir; the first requests of each file fail in the
// configured way.
type flaky struct {
	raw      string
	fail503  int32 // answer 503 to this many requests first
	cutAfter int64 // on the first 200 answer, send only this many bytes then drop the connection
	noRange  bool
	requests atomic.Int32
	ranges   atomic.Int32
	cut      atomic.Bool
}

func (f *flaky) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := f.requests.Add(1)
	if n <= f.fail503 {
		http.Error(w, "busy", http.StatusServiceUnavailable)
		return
	}
	b, err := os.ReadFile(filepath.Join(f.raw, filepath.FromSlash(strings.TrimPrefix(r.URL.Path, "/"))))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	if rg := r.Header.Get("Range"); rg != "" && !f.noRange {
		f.ranges.Add(1)
		from, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(rg, "bytes="), "-"), 10, 64)
		w.Header().Set("Content-Range", "bytes "+strconv.FormatInt(from, 10)+"-"+strconv.Itoa(len(b)-1)+"/"+strconv.Itoa(len(b)))
		w.Header().Set("Content-Length", strconv.FormatInt(int64(len(b))-from, 10))
		w.WriteHeader(http.StatusPartialContent)
		w.Write(b[from:])
		return
	}
	if f.cutAfter > 0 && !f.cut.Swap(true) {
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		w.WriteHeader(http.StatusOK)
		w.Write(b[:f.cutAfter])
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // drop the connection mid-file
	}
	w.Write(b)
}

func TestHTTPMirror(t *testing.T) {
	raw := testenv.RawDir(t)
	srv := httptest.NewServer(&flaky{raw: raw})
	defer srv.Close()
	c := &Client{Mirror: srv.URL + "/", CacheDir: t.TempDir(), HTTP: srv.Client(), Backoff: time.Millisecond}
	for _, s := range Dataset("miracl")[:4] {
		p, err := c.Fetch(context.Background(), s)
		if err != nil {
			t.Fatal(err)
		}
		if h, _ := hashFile(p); h != s.SHA256 {
			t.Fatalf("%s: hash %s", s.Name, h)
		}
	}
}

func TestRetry503(t *testing.T) {
	raw := testenv.RawDir(t)
	fl := &flaky{raw: raw, fail503: 2}
	srv := httptest.NewServer(fl)
	defer srv.Close()
	c := &Client{Mirror: srv.URL, CacheDir: t.TempDir(), HTTP: srv.Client(), Backoff: time.Millisecond}
	s := Dataset("xquad-r")[1]
	if _, err := c.Fetch(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	if got := fl.requests.Load(); got != 3 {
		t.Errorf("%d requests, want 3 (two 503s then success)", got)
	}
	// Retries exhausted: the error says so.
	fl2 := &flaky{raw: raw, fail503: 100}
	srv2 := httptest.NewServer(fl2)
	defer srv2.Close()
	c2 := &Client{Mirror: srv2.URL, CacheDir: t.TempDir(), HTTP: srv2.Client(), Backoff: time.Millisecond, Retries: 2}
	_, err := c2.Fetch(context.Background(), s)
	if err == nil || !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), "attempt 3 of 3") {
		t.Fatalf("err = %v", err)
	}
}

func TestNotFoundNotRetried(t *testing.T) {
	fl := &flaky{raw: t.TempDir()}
	srv := httptest.NewServer(fl)
	defer srv.Close()
	c := &Client{Mirror: srv.URL, CacheDir: t.TempDir(), HTTP: srv.Client(), Backoff: time.Millisecond}
	_, err := c.Fetch(context.Background(), Dataset("xquad-r")[0])
	if err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("err = %v", err)
	}
	if fl.requests.Load() != 1 {
		t.Errorf("404 retried: %d requests", fl.requests.Load())
	}
}

func TestResume(t *testing.T) {
	raw := testenv.RawDir(t)
	s := Dataset("xquad-r")[0]
	fl := &flaky{raw: raw, cutAfter: s.Size / 3}
	srv := httptest.NewServer(fl)
	defer srv.Close()
	c := &Client{Mirror: srv.URL, CacheDir: t.TempDir(), HTTP: srv.Client(), Backoff: time.Millisecond}
	p, err := c.Fetch(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	if h, _ := hashFile(p); h != s.SHA256 {
		t.Fatalf("hash %s", h)
	}
	if fl.ranges.Load() != 1 {
		t.Errorf("%d range requests, want 1 (resume after the cut)", fl.ranges.Load())
	}
	// A server that ignores Range: the download restarts and still verifies.
	fl2 := &flaky{raw: raw, cutAfter: s.Size / 2, noRange: true}
	srv2 := httptest.NewServer(fl2)
	defer srv2.Close()
	c2 := &Client{Mirror: srv2.URL, CacheDir: t.TempDir(), HTTP: srv2.Client(), Backoff: time.Millisecond}
	if _, err := c2.Fetch(context.Background(), s); err != nil {
		t.Fatal(err)
	}
}

func TestChecksumMismatch(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "xquad-r"), 0o755)
	os.WriteFile(filepath.Join(dir, "xquad-r", "de.json"), []byte("not the file"), 0o644)
	s, _ := Lookup("xquad-r", "de.json")
	s.Size = 0 // do not short-cut on size
	for _, mode := range []string{"dir", "http"} {
		cache := t.TempDir()
		c := &Client{Mirror: dir, CacheDir: cache, Backoff: time.Millisecond}
		want := filepath.Join(dir, "xquad-r", "de.json")
		if mode == "http" {
			srv := httptest.NewServer(&flaky{raw: dir})
			defer srv.Close()
			c.Mirror, c.HTTP = srv.URL, srv.Client()
			want = srv.URL + "/xquad-r/de.json"
		}
		_, err := c.Fetch(context.Background(), s)
		var ce *ChecksumError
		if !errors.As(err, &ce) {
			t.Fatalf("%s: err = %v, want ChecksumError", mode, err)
		}
		sum := sha256.Sum256([]byte("not the file"))
		if ce.URL != want || ce.Expected != s.SHA256 || ce.Actual != hex.EncodeToString(sum[:]) {
			t.Errorf("%s: %+v", mode, ce)
		}
		if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), s.SHA256) {
			t.Errorf("%s: message %q lacks URL or hash", mode, err)
		}
		entries, _ := os.ReadDir(filepath.Join(cache, "downloads", "sha256"))
		if len(entries) != 0 {
			t.Errorf("%s: cache holds %d entries after a mismatch", mode, len(entries))
		}
	}
}

func TestCancel(t *testing.T) {
	raw := testenv.RawDir(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c := &Client{Mirror: raw, CacheDir: t.TempDir()}
	if _, err := c.Fetch(ctx, Dataset("xquad-r")[0]); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	srv := httptest.NewServer(&flaky{raw: raw, fail503: 100})
	defer srv.Close()
	ctx2, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	c2 := &Client{Mirror: srv.URL, CacheDir: t.TempDir(), HTTP: srv.Client(), Backoff: time.Hour}
	if _, err := c2.Fetch(ctx2, Dataset("xquad-r")[0]); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded during backoff", err)
	}
}

func TestLocation(t *testing.T) {
	s, _ := Lookup("miracl", "topics.miracl-v1.0-sw-dev.tsv")
	for _, tc := range []struct {
		mirror, want string
		local        bool
	}{
		{"", "https://raw.githubusercontent.com/castorini/anserini-tools/5b819c1a45c8a0a3ec9426f476694f44a29dfaf3/topics/topics.miracl-v1.0-sw-dev.tsv", false},
		{"https://m.example/raw/", "https://m.example/raw/miracl/topics.miracl-v1.0-sw-dev.tsv", false},
		{"/srv/raw", "/srv/raw/miracl/topics.miracl-v1.0-sw-dev.tsv", true},
		{"file:///srv/raw", "/srv/raw/miracl/topics.miracl-v1.0-sw-dev.tsv", true},
	} {
		c := &Client{Mirror: tc.mirror}
		got, local := c.Location(s)
		if got != tc.want || local != tc.local {
			t.Errorf("mirror %q: %s %v, want %s %v", tc.mirror, got, local, tc.want, tc.local)
		}
	}
}

// TestConcurrentFetch: many fetchers of one file share one download.
func TestConcurrentFetch(t *testing.T) {
	raw := testenv.RawDir(t)
	fl := &flaky{raw: raw}
	srv := httptest.NewServer(fl)
	defer srv.Close()
	cache := t.TempDir()
	s := Dataset("xquad-r")[3]
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			c := &Client{Mirror: srv.URL, CacheDir: cache, HTTP: srv.Client(), Backoff: time.Millisecond}
			p, err := c.Fetch(context.Background(), s)
			if err == nil {
				if h, _ := hashFile(p); h != s.SHA256 {
					err = errors.New("bad hash " + h)
				}
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if fl.requests.Load() != 1 {
		t.Errorf("%d requests for one file, want 1", fl.requests.Load())
	}
}

// TestResumeProgress: bytes of a resumed download are counted once.
func TestResumeProgress(t *testing.T) {
	raw := testenv.RawDir(t)
	s := Dataset("xquad-r")[0]
	srv := httptest.NewServer(&flaky{raw: raw, cutAfter: s.Size / 3})
	defer srv.Close()
	p := &countProgress{}
	c := &Client{Mirror: srv.URL, CacheDir: t.TempDir(), HTTP: srv.Client(), Backoff: time.Millisecond, Progress: p}
	if _, err := c.Fetch(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	if p.n.Load() != s.Size {
		t.Errorf("progress %d bytes, file has %d", p.n.Load(), s.Size)
	}
}

// stall serves the first third of a file, then sends nothing until the
// client gives up; later (range) requests are served normally.
type stall struct {
	flaky
	stalled atomic.Bool
}

func (s *stall) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Range") == "" && !s.stalled.Swap(true) {
		b, _ := os.ReadFile(filepath.Join(s.raw, filepath.FromSlash(strings.TrimPrefix(r.URL.Path, "/"))))
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		w.WriteHeader(http.StatusOK)
		w.Write(b[:len(b)/3])
		w.(http.Flusher).Flush()
		<-r.Context().Done()
		return
	}
	s.flaky.ServeHTTP(w, r)
}

func TestStalledTransferRetried(t *testing.T) {
	raw := testenv.RawDir(t)
	st := &stall{flaky: flaky{raw: raw}}
	srv := httptest.NewServer(st)
	defer srv.Close()
	c := &Client{Mirror: srv.URL, CacheDir: t.TempDir(), HTTP: srv.Client(), Backoff: time.Millisecond, IdleTimeout: 100 * time.Millisecond}
	s := Dataset("xquad-r")[1]
	p, err := c.Fetch(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	if h, _ := hashFile(p); h != s.SHA256 || st.ranges.Load() != 1 {
		t.Errorf("hash %s, %d range requests (want a resume after the stall)", h, st.ranges.Load())
	}
}

// TestCorruptCacheNotUsed: a byte flipped in a cached file (its mtime put
// back, as silent corruption looks) is caught on the next use: the file is
// fetched again, or, with no source left, a clear error, never silent use.
func TestCorruptCacheNotUsed(t *testing.T) {
	raw := testenv.RawDir(t)
	s := Dataset("xquad-r")[0]
	mirror := t.TempDir()
	os.MkdirAll(filepath.Join(mirror, s.Dataset), 0o755)
	orig, err := os.ReadFile(filepath.Join(raw, s.Dataset, s.Name))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(mirror, s.Dataset, s.Name), orig, 0o644)
	cache := t.TempDir()
	for _, mode := range []string{"dir", "http"} {
		c := &Client{Mirror: mirror, CacheDir: cache, Backoff: time.Millisecond}
		var fl *flaky
		if mode == "http" {
			fl = &flaky{raw: mirror}
			srv := httptest.NewServer(fl)
			defer srv.Close()
			c.Mirror, c.HTTP = srv.URL, srv.Client()
		}
		p, err := c.Fetch(context.Background(), s)
		if err != nil {
			t.Fatal(err)
		}
		st, _ := os.Stat(p)
		f, _ := os.OpenFile(p, os.O_RDWR, 0)
		f.WriteAt([]byte{orig[100] ^ 1}, 100)
		f.Close()
		os.Chtimes(p, st.ModTime(), st.ModTime())
		p2, err := c.Fetch(context.Background(), s)
		if err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
		if b, _ := os.ReadFile(p2); !bytes.Equal(b, orig) {
			t.Fatalf("%s: the corrupt cached file was used", mode)
		}
		if fl != nil && fl.requests.Load() != 2 {
			t.Errorf("%s: %d requests; want 2 (the corrupt file fetched again)", mode, fl.requests.Load())
		}
		os.Remove(p)
	}
	// No source left: a clear error, not the corrupt file.
	c := &Client{Mirror: t.TempDir(), CacheDir: cache}
	p := c.CachePath(s.SHA256)
	os.WriteFile(p, append([]byte{orig[0] ^ 1}, orig[1:]...), 0o644)
	_, err = c.Fetch(context.Background(), s)
	if err == nil || !strings.Contains(err.Error(), s.RelPath()) {
		t.Fatalf("err = %v; want one naming %s", err, s.RelPath())
	}
}
