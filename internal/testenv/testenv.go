// Package testenv finds the outside things lair's tests use: the shared raw
// data mirror, the npm test tools, the ONNX Runtime library and Chromium.
//
// When a tool is missing a test is skipped, unless LAIR_REQUIRE_TOOLS=1 (set
// by `make test`), in which case it fails: CI never silently skips.
package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/lair-ir/lair/internal/cachedir"
)

func missing(t testing.TB, what string) {
	t.Helper()
	if os.Getenv("LAIR_REQUIRE_TOOLS") == "1" {
		t.Fatalf("%s (LAIR_REQUIRE_TOOLS=1: run the tests through `make test`, which installs it)", what)
	}
	t.Skip(what)
}

// RepoRoot returns the directory holding go.mod.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("testenv: no go.mod above the working directory")
		}
		dir = parent
	}
}

// RawDir returns the raw data mirror: $LAIR_MIRROR when it is a directory,
// else ../shared/data/raw beside the repository.
func RawDir(t testing.TB) string {
	t.Helper()
	if m := os.Getenv("LAIR_MIRROR"); m != "" {
		if st, err := os.Stat(m); err == nil && st.IsDir() {
			return m
		}
	}
	d := filepath.Join(filepath.Dir(RepoRoot(t)), "shared", "data", "raw")
	if st, err := os.Stat(d); err == nil && st.IsDir() {
		return d
	}
	missing(t, "raw data mirror not found: set LAIR_MIRROR or place shared/data/raw beside the checkout")
	return ""
}

// TokenizersDir returns ../shared/data/tokenizers beside the repository.
func TokenizersDir(t testing.TB) string {
	t.Helper()
	d := filepath.Join(filepath.Dir(RepoRoot(t)), "shared", "data", "tokenizers")
	if st, err := os.Stat(d); err == nil && st.IsDir() {
		return d
	}
	missing(t, "shared/data/tokenizers not found beside the checkout")
	return ""
}

// NodeModules returns the node_modules folder of tools/node ($LAIR_NODE_TOOLS
// or tools/node/node_modules) and the node binary.
func NodeModules(t testing.TB) (nodeModules, node string) {
	t.Helper()
	nm := os.Getenv("LAIR_NODE_TOOLS")
	if nm == "" {
		nm = filepath.Join(RepoRoot(t), "tools", "node", "node_modules")
	}
	if _, err := os.Stat(nm); err != nil {
		missing(t, "npm test tools not installed (run `make node-tools`)")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing(t, "node not on PATH")
	}
	return nm, node
}

// ORTLib returns the ONNX Runtime shared library: $LAIR_ORT_LIB, or the
// copy `make ort` puts into the lair cache.
func ORTLib(t testing.TB) string {
	t.Helper()
	p := os.Getenv("LAIR_ORT_LIB")
	if p == "" {
		base, _ := cachedir.Dir("")
		p = cachedir.ORTLibrary(base, "1.30.0")
	}
	if _, err := os.Stat(p); err != nil {
		missing(t, "ONNX Runtime library not found at "+p+" (run `make ort` or set LAIR_ORT_LIB)")
	}
	return p
}

// Chromium returns the path of a headless-capable Chromium.
func Chromium(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	missing(t, "chromium not installed (run `make chromium`)")
	return ""
}
