package s3store_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lair-ir/lair/cluster/clustertest"
	"github.com/lair-ir/lair/internal/s3server"
	"github.com/lair-ir/lair/storage/s3store"
)

// storeVia opens s3://lair/<prefix> on srv through endpoint (a proxy).
func storeVia(t *testing.T, srv *s3server.Server, endpoint, prefix string) *s3store.Store {
	t.Helper()
	env := map[string]string{}
	for _, kv := range s3server.EnvFor(endpoint, srv.AccessKey, srv.SecretKey) {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	cfg, err := s3store.FromEnv("s3://lair/"+prefix, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	s, err := s3store.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestCutUploadNotStored: every connection to a real S3 server (versitygw)
// is cut after 64 KB, so every PUT of a 1 MB file is cut short. Upload
// fails, and the server holds no truncated copy of the file (an unsigned
// body without Content-MD5 is stored cut short by versitygw) and no
// marker.
func TestCutUploadNotStored(t *testing.T) {
	srv := s3server.Start(t, s3server.Options{Buckets: []string{"lair"}})
	proxy := s3server.NewProxy(t, srv.Addr)
	proxy.CutEvery(1, 64<<10)
	s := storeVia(t, srv, proxy.Endpoint, "cut")
	src := t.TempDir()
	blob := clustertest.Blob(3, 1<<20)
	if err := os.WriteFile(filepath.Join(src, "blob.bin"), blob, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := publish(context.Background(), s, "k", src); err == nil {
		t.Fatal("upload through a proxy that cuts every connection succeeded")
	}
	objs, err := srv.Objects("lair", "cut/")
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for _, o := range objs {
		data, _ := os.ReadFile(filepath.Join(srv.Root, "lair", filepath.FromSlash(o)))
		if strings.HasSuffix(o, "/_COMPLETE") {
			t.Errorf("a failed upload left a marker: %s", o)
		} else if !bytes.Equal(data, blob) {
			t.Errorf("the server stored %s with %d of %d bytes", o, len(data), len(blob))
		}
	}
}

// TestCutMultipartUpload: a 40 MB file goes up in parts (over minio-go's
// 16 MiB part size, without Content-MD5) while every second connection is
// cut after 2 MB. Whether the upload then succeeds (parts retried) or
// fails, the server never holds a wrong copy: published means exact.
func TestCutMultipartUpload(t *testing.T) {
	srv := s3server.Start(t, s3server.Options{Buckets: []string{"lair"}})
	proxy := s3server.NewProxy(t, srv.Addr)
	proxy.CutEvery(2, 2<<20)
	s := storeVia(t, srv, proxy.Endpoint, "mp")
	src := t.TempDir()
	blob := clustertest.Blob(5, 40<<20)
	if err := os.WriteFile(filepath.Join(src, "blob.bin"), blob, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := publish(context.Background(), s, "k", src)
	objs, _ := srv.Objects("lair", "mp/")
	published := false
	for _, o := range objs {
		if strings.HasSuffix(o, "/_COMPLETE") {
			published = true
			continue
		}
		data, _ := os.ReadFile(filepath.Join(srv.Root, "lair", filepath.FromSlash(o)))
		if !bytes.Equal(data, blob) {
			t.Errorf("the server holds %s with %d bytes, not the %d uploaded", o, len(data), len(blob))
		}
	}
	if (err == nil) != published {
		t.Errorf("upload error %v, but published = %v", err, published)
	}
	_, cut, _, _ := proxy.Stats()
	t.Logf("upload: %v; %d connections cut", err, cut)
	if cut == 0 {
		t.Fatal("the proxy cut nothing")
	}
}

// TestCutDownloadResumes: every second connection is cut after 256 KB.
// Fetching a 2 MB artifact resumes each cut download where it stopped and
// returns the exact bytes.
func TestCutDownloadResumes(t *testing.T) {
	srv := s3server.Start(t, s3server.Options{Buckets: []string{"lair"}})
	src := t.TempDir()
	blob := clustertest.Blob(4, 2<<20)
	if err := os.WriteFile(filepath.Join(src, "blob.bin"), blob, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := publish(context.Background(), storeVia(t, srv, srv.Endpoint, "dl"), "k", src); err != nil {
		t.Fatal(err)
	}
	proxy := s3server.NewProxy(t, srv.Addr)
	proxy.CutEvery(2, 256<<10)
	dst := filepath.Join(t.TempDir(), "k")
	if _, err := fetch(context.Background(), storeVia(t, srv, proxy.Endpoint, "dl"), "k", dst); err != nil {
		t.Fatalf("fetch through a proxy that cuts every second connection: %v", err)
	}
	got, err := os.ReadFile(filepath.Join(dst, "blob.bin"))
	if err != nil || !bytes.Equal(got, blob) {
		t.Fatalf("fetched %d bytes (%v), want the %d published", len(got), err, len(blob))
	}
	if _, cut, _, _ := proxy.Stats(); cut == 0 {
		t.Fatal("the proxy cut nothing: the test proved nothing")
	}
}
