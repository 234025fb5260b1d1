package fetch

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"

	"github.com/lair-ir/lair/internal/fsutil"
)

// MarkerSuffix is appended to a file's path to name its verified marker.
const MarkerSuffix = ".verified"

// marker is what a verified marker holds.
type marker struct {
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	Mtime  int64  `json:"mtime_ns"`
	Ctime  int64  `json:"ctime_ns"`
	Ino    uint64 `json:"ino"`
}

func stamp(fi fs.FileInfo) marker {
	m := marker{Size: fi.Size(), Mtime: fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		m.Ctime = st.Ctim.Sec*1e9 + st.Ctim.Nsec
		m.Ino = st.Ino
	}
	return m
}

// ErrUnverifiable is returned by Verify for a file with no pinned hash and
// no marker: nothing says what it should contain.
var ErrUnverifiable = errors.New("no known sha256 to check it against")

// Verify checks the file at path against want (a lowercase hex sha256, or
// "" to check against the hash its marker recorded) and returns its sha256.
// It re-hashes only when the marker is missing or the file's size, mtime,
// ctime or inode changed since the marker was written, and then refreshes
// the marker. A file whose content differs gives a *ChecksumError; a
// missing file an error satisfying errors.Is(err, fs.ErrNotExist).
func Verify(path, want string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	now := stamp(fi)
	var old marker
	haveMarker := false
	if b, err := os.ReadFile(path + MarkerSuffix); err == nil && json.Unmarshal(b, &old) == nil && old.SHA256 != "" {
		haveMarker = true
		if (want == "" || old.SHA256 == want) && old.Size == now.Size && old.Mtime == now.Mtime && old.Ctime == now.Ctime && old.Ino == now.Ino {
			return old.SHA256, nil
		}
	}
	if want == "" {
		if !haveMarker {
			return "", fmt.Errorf("%s: %w", path, ErrUnverifiable)
		}
		want = old.SHA256
	}
	sum, err := HashFile(path)
	if err != nil {
		return "", err
	}
	if sum != want {
		return sum, &ChecksumError{File: path, Expected: want, Actual: sum, Cached: true}
	}
	// The file is intact; the marker only saves the next hash, so a cache
	// that cannot be written to (read-only, shared) still works.
	_ = MarkVerified(path, sum)
	return sum, nil
}

// MarkVerified records that the file at path, as it is now, has sha256 sum.
// Call it only with a hash just computed from the file.
func MarkVerified(path, sum string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	m := stamp(fi)
	m.SHA256 = sum
	b, _ := json.Marshal(m)
	return fsutil.WriteFile(path+MarkerSuffix, append(b, '\n'), 0o644)
}

// Remove deletes a file and its marker.
func Remove(path string) error {
	err := os.Remove(path)
	if errors.Is(err, fs.ErrNotExist) {
		err = nil
	}
	if err2 := os.Remove(path + MarkerSuffix); err2 != nil && !errors.Is(err2, fs.ErrNotExist) && err == nil {
		err = err2
	}
	return err
}

// HashFile returns the lowercase hex sha256 of a file.
func HashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
