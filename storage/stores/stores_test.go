package stores_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/lair-ir/lair/storage/stores"
)

func TestOpen(t *testing.T) {
	ctx := context.Background()
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
	tmp := t.TempDir()
	t.Chdir(tmp)
	for url, want := range map[string]string{
		"s3://bucket/pre/fix":           "s3://bucket/pre/fix",
		"file://" + tmp + "/store":      filepath.Join(tmp, "store"),
		"file://localhost" + tmp + "/s": filepath.Join(tmp, "s"),
		tmp + "/store2":                 filepath.Join(tmp, "store2"),
		"rel/dir":                       filepath.Join(tmp, "rel/dir"),
	} {
		s, err := stores.Open(ctx, url, stores.Options{CacheDir: filepath.Join(tmp, "cache")})
		if err != nil {
			t.Errorf("Open(%q): %v", url, err)
			continue
		}
		if s.String() != want {
			t.Errorf("Open(%q).String() = %q, want %q", url, s.String(), want)
		}
		s.Close()
	}
	for _, bad := range []string{"", "gs://b/p", "file://host/x", "s3://", "file:///x?y=1"} {
		if _, err := stores.Open(ctx, bad, stores.Options{CacheDir: tmp}); err == nil {
			t.Errorf("Open(%q): no error", bad)
		}
	}
}

// TestPathAndFileURLSame: --store ./x and --store file:///abs/x are one
// store: what one publishes, the other sees.
func TestPathAndFileURLSame(t *testing.T) {
	ctx := context.Background()
	tmp := t.TempDir()
	t.Chdir(tmp)
	a, err := stores.Open(ctx, "./x", stores.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	d, _ := a.NewTemp(ctx, "k")
	os.WriteFile(filepath.Join(d, "f"), []byte("1"), 0o644)
	if _, err := a.Publish(ctx, "k", d); err != nil {
		t.Fatal(err)
	}
	b, err := stores.Open(ctx, "file://"+filepath.Join(tmp, "x"), stores.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.Verify(ctx, "k"); err != nil {
		t.Fatalf("file:// store does not see what ./x published: %v", err)
	}
}
