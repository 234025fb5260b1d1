package storage_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lair-ir/lair/storage"
)

const zeroSHA = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

func TestManifestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "a", "b"), 0o755)
	os.WriteFile(filepath.Join(dir, "a", "b", "c.txt"), []byte("hello"), 0o644)
	os.WriteFile(filepath.Join(dir, "empty"), nil, 0o644)
	m, err := storage.ScanDir(context.Background(), "k", dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Files) != 2 || m.Files[0].Path != "a/b/c.txt" || m.Files[1].SHA256 != zeroSHA || m.Size() != 5 {
		t.Fatalf("ScanDir = %+v", m)
	}
	back, err := storage.ParseManifest(m.Marshal(), "k")
	if err != nil {
		t.Fatal(err)
	}
	if string(back.Marshal()) != string(m.Marshal()) {
		t.Errorf("round trip changed the manifest:\n%s\n%s", back.Marshal(), m.Marshal())
	}
}

func TestParseManifestRejects(t *testing.T) {
	file := func(p string) string {
		return `{"version":1,"key":"k","files":[{"path":` + p + `,"size":0,"sha256":"` + zeroSHA + `"}]}`
	}
	for _, tc := range []struct{ name, data, want string }{
		{"not json", `nope`, "invalid"},
		{"other key", `{"version":1,"key":"other","files":[]}`, `names key "other"`},
		{"other version", `{"version":2,"key":"k","files":[]}`, "version 2"},
		{"unknown field", `{"version":1,"key":"k","files":[],"x":1}`, "unknown field"},
		{"trailing", `{"version":1,"key":"k","files":[]} {}`, "trailing"},
		{"absolute", file(`"/etc/passwd"`), "relative"},
		{"dotdot", file(`"../x"`), "not a clean path"},
		{"dotdot inside", file(`"a/../../x"`), "not a clean path"},
		{"backslash", file(`"a\\b"`), "slash-separated"},
		{"empty", file(`""`), "empty path"},
		{"dot", file(`"."`), "not a clean path"},
		{"negative size", `{"version":1,"key":"k","files":[{"path":"a","size":-1,"sha256":"` + zeroSHA + `"}]}`, "negative size"},
		{"bad sha", `{"version":1,"key":"k","files":[{"path":"a","size":0,"sha256":"XYZ"}]}`, "64 lower-case hex"},
		{"dup", `{"version":1,"key":"k","files":[{"path":"a","size":0,"sha256":"` + zeroSHA + `"},{"path":"a","size":0,"sha256":"` + zeroSHA + `"}]}`, "listed twice"},
		{"file and dir", `{"version":1,"key":"k","files":[{"path":"a","size":0,"sha256":"` + zeroSHA + `"},{"path":"a/b","size":0,"sha256":"` + zeroSHA + `"}]}`, "both a file and the directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := storage.ParseManifest([]byte(tc.data), "k")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ParseManifest: %v, want an error with %q", err, tc.want)
			}
		})
	}
}

// FuzzParseManifest checks that whatever a marker holds, an accepted
// manifest only names paths inside the artifact directory and re-encodes
// to itself.
func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(`{"version":1,"key":"k","files":[{"path":"a/b.txt","size":5,"sha256":"` + zeroSHA + `"}]}`))
	f.Add([]byte(`{"version":1,"key":"k","files":[]}`))
	f.Add([]byte(`{"version":1,"key":"k","files":[{"path":"../x","size":0,"sha256":"` + zeroSHA + `"}]}`))
	f.Add([]byte(`{"version":1,"key":"k","files":[{"path":"a//b","size":0,"sha256":"` + zeroSHA + `"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := storage.ParseManifest(data, "k")
		if err != nil {
			return
		}
		root := "/artifact"
		for _, fl := range m.Files {
			p := filepath.Join(root, filepath.FromSlash(fl.Path))
			if !strings.HasPrefix(p, root+"/") {
				t.Fatalf("accepted path %q escapes the artifact (%s)", fl.Path, p)
			}
		}
		again, err := storage.ParseManifest(m.Marshal(), "k")
		if err != nil {
			t.Fatalf("re-encoded manifest rejected: %v", err)
		}
		if string(again.Marshal()) != string(m.Marshal()) {
			t.Fatalf("re-encoding changed the manifest")
		}
	})
}

func TestFetchIntoVerifies(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "f"), []byte("abc"), 0o644)
	m, err := storage.ScanDir(ctx, "k", src)
	if err != nil {
		t.Fatal(err)
	}
	open := func(content string) func(context.Context, storage.File) (io.ReadCloser, error) {
		return func(context.Context, storage.File) (io.ReadCloser, error) {
			return io.NopCloser(strings.NewReader(content)), nil
		}
	}
	parent := t.TempDir()
	if err := storage.FetchInto(ctx, m, filepath.Join(parent, "bad"), 2, open("abd")); err == nil || !strings.Contains(err.Error(), "sha256") {
		t.Errorf("FetchInto with wrong content: %v", err)
	}
	failing := func(context.Context, storage.File) (io.ReadCloser, error) { return nil, errors.New("boom") }
	if err := storage.FetchInto(ctx, m, filepath.Join(parent, "bad"), 2, failing); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("FetchInto with failing source: %v", err)
	}
	if ents, _ := os.ReadDir(parent); len(ents) != 0 {
		t.Errorf("left behind: %v", ents)
	}
	if err := storage.FetchInto(ctx, m, filepath.Join(parent, "good"), 2, open("abc")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(parent, "good", "f")); string(b) != "abc" {
		t.Errorf("fetched %q", b)
	}
}

func TestCheckKey(t *testing.T) {
	for _, k := range []string{"abc", "0123abcdef", "a.b_c-d=e"} {
		if err := storage.CheckKey(k); err != nil {
			t.Errorf("CheckKey(%q): %v", k, err)
		}
	}
	for _, k := range []string{"", ".x", "a/b", "a b", strings.Repeat("a", 201), "é"} {
		if err := storage.CheckKey(k); err == nil {
			t.Errorf("CheckKey(%q): no error", k)
		}
	}
}
