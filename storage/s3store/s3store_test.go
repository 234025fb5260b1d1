package s3store_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lair-ir/lair/storage"
	"github.com/lair-ir/lair/storage/s3store"
	"github.com/lair-ir/lair/storage/s3store/s3fake"
)

func startServer(t testing.TB, buckets ...string) *s3fake.Server {
	t.Helper()
	srv, err := s3fake.Start(buckets...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}

func openStore(t testing.TB, srv *s3fake.Server, url string, getenv func(string) string) *s3store.Store {
	t.Helper()
	if getenv == nil {
		getenv = srv.Getenv()
	}
	cfg, err := s3store.FromEnv(url, getenv)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxRetries = 1
	s, err := s3store.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// writeArtifact makes a directory of files (including a nested one and an
// empty one) and returns it.
func writeArtifact(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func readTree(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = string(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var sample = map[string]string{
	"meta.json":         `{"a":1}`,
	"queries.parquet":   strings.Repeat("q", 10000),
	"sub/dir/trec.run":  "1 Q0 d1 1 0.5 lair\n",
	"empty.txt":         "",
	"unicode-é/名前.json": "{}",
}

func TestPublishFetchRoundTrip(t *testing.T) {
	ctx := context.Background()
	srv := startServer(t, "lair")
	s := openStore(t, srv, "s3://lair/runs/exp1", nil)
	if err := s.Check(ctx); err != nil {
		t.Fatalf("Check: %v", err)
	}
	key := "abc123"
	if ok, err := storage.Has(ctx, s, key); err != nil || ok {
		t.Fatalf("Has before publish = %v, %v; want false, nil", ok, err)
	}
	src := writeArtifact(t, sample)
	m, err := publish(ctx, s, key, src)
	if err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if len(m.Files) != len(sample) {
		t.Fatalf("manifest has %d files, want %d", len(m.Files), len(sample))
	}
	objs, err := srv.Objects("lair")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(m.Dir, "files-") || len(m.Dir) != len("files-")+16 {
		t.Fatalf("manifest dir %q: want files-<16 hex digits>", m.Dir)
	}
	g := "runs/exp1/abc123/" + m.Dir
	want := []string{"runs/exp1/abc123/_COMPLETE", g + "/empty.txt", g + "/meta.json",
		g + "/queries.parquet", g + "/sub/dir/trec.run", g + "/unicode-é/名前.json"}
	if fmt.Sprint(objs) != fmt.Sprint(want) {
		t.Errorf("objects:\n got %q\nwant %q", objs, want)
	}
	if ok, err := storage.Has(ctx, s, key); err != nil || !ok {
		t.Fatalf("Has after publish = %v, %v; want true, nil", ok, err)
	}
	// A second client (another machine) sees the same key.
	s2 := openStore(t, srv, "s3://lair/runs/exp1/", nil)
	dst := filepath.Join(t.TempDir(), "got")
	m2, err := fetch(ctx, s2, key, dst)
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if fmt.Sprint(m2) != fmt.Sprint(m) {
		t.Errorf("fetched manifest %v, published %v", m2, m)
	}
	if got := readTree(t, dst); fmt.Sprint(got) != fmt.Sprint(sample) {
		t.Errorf("fetched files %v, want %v", got, sample)
	}
	// Fetching into an existing directory is refused.
	if _, err := fetch(ctx, s2, key, dst); err == nil {
		t.Error("Fetch into an existing directory: no error")
	}
	// Publishing again is a no-op returning the first manifest, even with other content.
	other := writeArtifact(t, map[string]string{"x": "y"})
	m3, err := publish(ctx, s, key, other)
	if err != nil || fmt.Sprint(m3) != fmt.Sprint(m) {
		t.Errorf("re-Publish = %v, %v; want the first manifest", m3, err)
	}
	// Replace uploads a new generation, switches the marker and drops the
	// old generation's files.
	m4, err := s.Upload(ctx, key, other, true)
	if err != nil || m4.Dir == m.Dir || len(m4.Files) != 1 {
		t.Fatalf("Replace = %+v, %v", m4, err)
	}
	objs, _ = srv.Objects("lair")
	if want := []string{"runs/exp1/abc123/_COMPLETE", "runs/exp1/abc123/" + m4.Dir + "/x"}; fmt.Sprint(objs) != fmt.Sprint(want) {
		t.Errorf("objects after Replace:\n got %q\nwant %q", objs, want)
	}
	dst2 := filepath.Join(t.TempDir(), "got2")
	if _, err := fetch(ctx, s2, key, dst2); err != nil {
		t.Fatal(err)
	}
	if got := readTree(t, dst2); fmt.Sprint(got) != "map[x:y]" {
		t.Errorf("fetched after Replace: %v", got)
	}
	// Quarantine unpublishes the key and keeps its files.
	where, err := s.Quarantine(ctx, key)
	if err != nil || !strings.HasPrefix(where, "s3://lair/runs/exp1/.quarantine/abc123-") {
		t.Fatalf("Quarantine = %q, %v", where, err)
	}
	if ok, _ := storage.Has(ctx, s, key); ok {
		t.Error("quarantined key still published")
	}
	if keys, err := s.List(ctx); err != nil || len(keys) != 0 {
		t.Errorf("List after Quarantine = %v, %v", keys, err)
	}
}

func TestNoMarkerMeansInvisible(t *testing.T) {
	ctx := context.Background()
	srv := startServer(t, "lair")
	s := openStore(t, srv, "s3://lair", nil)
	// Files without a marker: what a writer killed during upload leaves.
	if err := srv.Overwrite("lair", fileObject(t, s, "k1", "meta.json"), []byte("{}")); err != nil {
		t.Fatal(err)
	}
	if ok, err := storage.Has(ctx, s, "k1"); err != nil || ok {
		t.Fatalf("Has(k1) with files but no marker = %v, %v; want false", ok, err)
	}
	_, err := fetch(ctx, s, "k1", filepath.Join(t.TempDir(), "d"))
	if !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Fetch without marker: %v; want ErrNotFound", err)
	}
	// Publishing the key afterwards overwrites the leftovers and publishes.
	src := writeArtifact(t, map[string]string{"meta.json": `{"ok":true}`})
	if _, err := publish(ctx, s, "k1", src); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "d")
	if _, err := fetch(ctx, s, "k1", dst); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "meta.json")); string(b) != `{"ok":true}` {
		t.Errorf("meta.json = %q", b)
	}
}

func TestFetchDetectsDamage(t *testing.T) {
	ctx := context.Background()
	srv := startServer(t, "lair")
	s := openStore(t, srv, "s3://lair/p", nil)
	src := writeArtifact(t, map[string]string{"a.bin": "0123456789", "b.bin": "abcdef"})
	if _, err := publish(ctx, s, "k", src); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, content, want string }{
		{"same size, other bytes", "0123456780", "sha256"},
		{"shorter", "01234", "size 5"},
		{"longer", "0123456789X", "size 11"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := srv.Overwrite("lair", fileObject(t, s, "k", "a.bin"), []byte(tc.content)); err != nil {
				t.Fatal(err)
			}
			parent := t.TempDir()
			dst := filepath.Join(parent, "d")
			_, err := fetch(ctx, s, "k", dst)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "a.bin") {
				t.Fatalf("Fetch of damaged artifact: %v; want an error naming a.bin and %q", err, tc.want)
			}
			if _, err := os.Stat(dst); !os.IsNotExist(err) {
				t.Errorf("destination exists after failed fetch")
			}
			left, _ := os.ReadDir(parent)
			if len(left) != 0 {
				t.Errorf("temporary files left: %v", left)
			}
		})
	}
}

func TestCheckErrors(t *testing.T) {
	ctx := context.Background()
	srv := startServer(t, "lair")

	t.Run("missing bucket", func(t *testing.T) {
		err := openStore(t, srv, "s3://nosuch/p", nil).Check(ctx)
		if err == nil || !strings.Contains(err.Error(), `bucket "nosuch" does not exist`) {
			t.Fatalf("Check: %v", err)
		}
	})
	t.Run("wrong credentials", func(t *testing.T) {
		env := srv.Getenv()
		getenv := func(k string) string {
			if k == "AWS_ACCESS_KEY_ID" {
				return "wrong"
			}
			return env(k)
		}
		err := openStore(t, srv, "s3://lair/p", getenv).Check(ctx)
		if err == nil || !strings.Contains(err.Error(), "credentials rejected") || !strings.Contains(err.Error(), "AWS_ACCESS_KEY_ID") {
			t.Fatalf("Check: %v", err)
		}
	})
	t.Run("unreachable endpoint", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close() // nothing listens there now
		env := srv.Getenv()
		getenv := func(k string) string {
			if k == "AWS_ENDPOINT_URL" {
				return "http://" + addr
			}
			return env(k)
		}
		err = openStore(t, srv, "s3://lair/p", getenv).Check(ctx)
		if err == nil || !strings.Contains(err.Error(), "cannot reach S3 endpoint") {
			t.Fatalf("Check: %v", err)
		}
	})
}

func TestFromEnv(t *testing.T) {
	env := map[string]string{
		"AWS_ENDPOINT_URL":    "http://generic:9000",
		"AWS_ENDPOINT_URL_S3": "http://s3specific:9000",
		"AWS_DEFAULT_REGION":  "eu-west-1",
	}
	cfg, err := s3store.FromEnv("s3://b/some/prefix/", func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Bucket != "b" || cfg.Prefix != "some/prefix" || cfg.Endpoint != "http://s3specific:9000" || cfg.Region != "eu-west-1" {
		t.Errorf("FromEnv = %+v", cfg)
	}
	cfg, _ = s3store.FromEnv("s3://b", func(string) string { return "" })
	if cfg.Endpoint != "https://s3.amazonaws.com" || cfg.Region != "us-east-1" || cfg.Prefix != "" {
		t.Errorf("defaults = %+v", cfg)
	}
	for _, bad := range []string{"s3:///p", "http://b/p", "s3://user:pw@b/p", "s3://b/p?x=1"} {
		if _, err := s3store.FromEnv(bad, func(string) string { return "" }); err == nil {
			t.Errorf("FromEnv(%q): no error", bad)
		}
	}
	if _, err := s3store.New(s3store.Config{Bucket: "b", Endpoint: "ftp://x"}); err == nil {
		t.Error("New with ftp endpoint: no error")
	}
}

func TestPublishRefusesBadKeysAndSymlinks(t *testing.T) {
	ctx := context.Background()
	srv := startServer(t, "lair")
	s := openStore(t, srv, "s3://lair", nil)
	src := writeArtifact(t, map[string]string{"a": "1"})
	for _, key := range []string{"", "../x", "a/b", ".hidden"} {
		if _, err := publish(ctx, s, key, src); err == nil {
			t.Errorf("Publish(%q): no error", key)
		}
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(src, "link")); err != nil {
		t.Skip(err)
	}
	if _, err := publish(ctx, s, "k", src); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("Publish with symlink: %v", err)
	}
	if ok, _ := storage.Has(ctx, s, "k"); ok {
		t.Error("key published despite error")
	}
}

func TestListDelete(t *testing.T) {
	ctx := context.Background()
	srv := startServer(t, "lair")
	s := openStore(t, srv, "s3://lair/p", nil)
	other := openStore(t, srv, "s3://lair/p2", nil)
	src := writeArtifact(t, map[string]string{"a": "1", "d/b": "2"})
	for _, k := range []string{"k2", "k1"} {
		if _, err := publish(ctx, s, k, src); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := publish(ctx, other, "k3", src); err != nil {
		t.Fatal(err)
	}
	// Files without a marker are not listed.
	if err := srv.Overwrite("lair", fileObject(t, s, "half", "a"), []byte("x")); err != nil {
		t.Fatal(err)
	}
	keys, err := s.List(ctx)
	if err != nil || fmt.Sprint(keys) != "[k1 k2]" {
		t.Fatalf("List = %v, %v", keys, err)
	}
	if err := s.Delete(ctx, "k1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "nosuch"); err != nil {
		t.Errorf("Delete of a missing key: %v", err)
	}
	keys, _ = s.List(ctx)
	if fmt.Sprint(keys) != "[k2]" {
		t.Errorf("after Delete, List = %v", keys)
	}
	objs, _ := srv.Objects("lair")
	for _, o := range objs {
		if strings.HasPrefix(o, "p/k1/") {
			t.Errorf("object %s left after Delete", o)
		}
	}
}

// TestCheckWrongRegion answers like AWS does for a bucket in another
// region (HEAD: 301 with x-amz-bucket-region) and checks the message.
func TestCheckWrongRegion(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("x-amz-bucket-region", "eu-west-1")
		w.WriteHeader(http.StatusMovedPermanently)
	}))
	defer srv.Close()
	s, err := s3store.New(s3store.Config{Bucket: "bkt", Endpoint: srv.URL, Region: "us-east-1", AccessKey: "a", SecretKey: "s", MaxRetries: 1})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Check(context.Background())
	if err == nil || !strings.Contains(err.Error(), "set AWS_REGION=eu-west-1") {
		t.Fatalf("Check: %v", err)
	}
}
