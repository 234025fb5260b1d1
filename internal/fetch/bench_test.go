package fetch

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

const benchSize = 64 << 20

// BenchmarkGet downloads a 64 MiB file from a local server through Get
// (lock, part file, sha256, fsync, rename, marker); BenchmarkPlainCopy is
// the floor: the same body copied into a file with io.Copy.
func BenchmarkGet(b *testing.B) {
	data := body(benchSize)
	sum := hexsum(data)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		w.Write(data)
	}))
	defer srv.Close()
	b.SetBytes(benchSize)
	c := &Client{}
	for i := 0; b.Loop(); i++ {
		dst := filepath.Join(b.TempDir(), "f")
		if _, err := c.Get(context.Background(), Request{URL: srv.URL, Dst: dst, SHA256: sum, Size: benchSize}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPlainCopy(b *testing.B) {
	data := body(benchSize)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		w.Write(data)
	}))
	defer srv.Close()
	b.SetBytes(benchSize)
	for b.Loop() {
		resp, err := http.Get(srv.URL)
		if err != nil {
			b.Fatal(err)
		}
		f, _ := os.Create(filepath.Join(b.TempDir(), "f"))
		io.Copy(f, resp.Body)
		resp.Body.Close()
		f.Close()
	}
}

// BenchmarkVerifyMarker is the cost of using a cached file whose marker
// is current (one stat and a small read); BenchmarkVerifyRehash the cost
// when the marker is stale and the 64 MiB file is hashed again.
func BenchmarkVerifyMarker(b *testing.B) {
	p := filepath.Join(b.TempDir(), "f")
	os.WriteFile(p, body(benchSize), 0o644)
	sum, _ := HashFile(p)
	MarkVerified(p, sum)
	for b.Loop() {
		if _, err := Verify(p, sum); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyRehash(b *testing.B) {
	p := filepath.Join(b.TempDir(), "f")
	os.WriteFile(p, body(benchSize), 0o644)
	sum, _ := HashFile(p)
	b.SetBytes(benchSize)
	for b.Loop() {
		os.Remove(p + MarkerSuffix)
		if _, err := Verify(p, sum); err != nil {
			b.Fatal(err)
		}
	}
}
