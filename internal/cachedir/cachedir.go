// Package cachedir is the one place that decides where lair's cache lives
// (downloads, Hub models, the ONNX Runtime library, embedding caches).
//
// The directory is, in order:
//
//  1. an explicit choice (the --cache flag), when not empty;
//  2. $LAIR_CACHE;
//  3. $XDG_CACHE_HOME/lair;
//  4. the user cache directory + /lair (~/.cache/lair on Linux,
//     ~/Library/Caches/lair on macOS).
//
// Relative paths from the flag or LAIR_CACHE are made absolute, so a stage
// that changes directory still finds the cache. XDG_CACHE_HOME is ignored
// when relative, as the XDG specification says.
package cachedir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// Name is the cache's folder name under XDG_CACHE_HOME or the user cache directory.
const Name = "lair"

// Dir resolves the cache directory; explicit (the --cache flag) wins when
// not empty. It does not create the directory.
func Dir(explicit string) (string, error) {
	for _, c := range []struct{ v, what string }{{explicit, "--cache"}, {os.Getenv("LAIR_CACHE"), "LAIR_CACHE"}} {
		if c.v == "" {
			continue
		}
		abs, err := filepath.Abs(c.v)
		if err != nil {
			return "", fmt.Errorf("cache directory %s=%q: %w", c.what, c.v, err)
		}
		return abs, nil
	}
	if x := os.Getenv("XDG_CACHE_HOME"); filepath.IsAbs(x) {
		return filepath.Join(x, Name), nil
	}
	if runtime.GOOS == "darwin" || runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		if c, err := os.UserCacheDir(); err == nil {
			return filepath.Join(c, Name), nil
		}
	} else if home, err := os.UserHomeDir(); err == nil && home != "" {
		return filepath.Join(home, ".cache", Name), nil
	}
	return "", errors.New("no cache directory: set --cache or LAIR_CACHE (neither XDG_CACHE_HOME nor HOME is set)")
}

// ORTLibrary is where `make ort` puts the ONNX Runtime shared library
// inside the cache directory.
func ORTLibrary(cache, version string) string {
	return filepath.Join(cache, "onnxruntime", version, "libonnxruntime.so.1")
}
