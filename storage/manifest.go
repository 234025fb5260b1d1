package storage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// ManifestVersion is the version of the marker format written by this code.
const ManifestVersion = 1

// Manifest lists the files of a published artifact. It is the content of
// the marker object, written after every file.
type Manifest struct {
	Version int    `json:"version"`
	Key     string `json:"key"`
	// Dir is the directory, inside the key's directory, that holds the
	// files: "" means "files". S3 names a fresh one per upload
	// (files-<generation>) so that two uploads never mix.
	Dir   string `json:"dir,omitempty"`
	Files []File `json:"files"` // sorted by Path
}

// FilesDir returns the directory holding the files: Dir, or "files".
func (m *Manifest) FilesDir() string {
	if m.Dir == "" {
		return "files"
	}
	return m.Dir
}

// SameFiles reports whether a and b list the same files with the same
// sizes and checksums (wherever they are stored).
func SameFiles(a, b *Manifest) bool {
	if a == nil || b == nil || a.Key != b.Key || len(a.Files) != len(b.Files) {
		return false
	}
	for i := range a.Files {
		if a.Files[i] != b.Files[i] {
			return false
		}
	}
	return true
}

// File is one file of an artifact.
type File struct {
	Path   string `json:"path"` // slash-separated, relative to the artifact directory
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"` // lower-case hex
}

// Size returns the total size of the artifact's files in bytes.
func (m *Manifest) Size() int64 {
	var n int64
	for _, f := range m.Files {
		n += f.Size
	}
	return n
}

// Marshal encodes the manifest as indented JSON.
func (m *Manifest) Marshal() []byte {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		panic(err) // plain structs of strings and ints always encode
	}
	return append(b, '\n')
}

// ParseManifest decodes and validates a marker's content. The marker comes
// from a store other machines write to, so every path is checked to stay
// inside the artifact directory.
func ParseManifest(data []byte, wantKey string) (*Manifest, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("manifest of %s: %w", wantKey, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("manifest of %s: trailing data after the JSON object", wantKey)
	}
	if m.Version != ManifestVersion {
		return nil, fmt.Errorf("manifest of %s: version %d, this lair reads version %d", wantKey, m.Version, ManifestVersion)
	}
	if m.Key != wantKey {
		return nil, fmt.Errorf("manifest of %s: names key %q", wantKey, m.Key)
	}
	if m.Dir != "" && (m.Dir == "files" || !strings.HasPrefix(m.Dir, "files-") || CheckKey(m.Dir) != nil) {
		return nil, fmt.Errorf("manifest of %s: dir %q: want \"files-<generation>\" or nothing", wantKey, m.Dir)
	}
	seen := make(map[string]bool, len(m.Files))
	for i, f := range m.Files {
		if err := checkRelPath(f.Path); err != nil {
			return nil, fmt.Errorf("manifest of %s: files[%d]: %w", wantKey, i, err)
		}
		if seen[f.Path] {
			return nil, fmt.Errorf("manifest of %s: files[%d]: path %q listed twice", wantKey, i, f.Path)
		}
		seen[f.Path] = true
		if f.Size < 0 {
			return nil, fmt.Errorf("manifest of %s: files[%d] %q: negative size %d", wantKey, i, f.Path, f.Size)
		}
		if len(f.SHA256) != 64 || strings.ToLower(f.SHA256) != f.SHA256 {
			return nil, fmt.Errorf("manifest of %s: files[%d] %q: sha256 %q is not 64 lower-case hex digits", wantKey, i, f.Path, f.SHA256)
		}
		if _, err := hex.DecodeString(f.SHA256); err != nil {
			return nil, fmt.Errorf("manifest of %s: files[%d] %q: sha256: %w", wantKey, i, f.Path, err)
		}
	}
	// A file may not also be a directory of another file ("a" and "a/b").
	for p := range seen {
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			if seen[d] {
				return nil, fmt.Errorf("manifest of %s: %q is both a file and the directory of %q", wantKey, d, p)
			}
		}
	}
	return &m, nil
}

// checkRelPath accepts clean, relative, slash-separated paths that stay
// inside the artifact directory and do not use the names lair reserves.
func checkRelPath(p string) error {
	switch {
	case p == "":
		return errors.New("empty path")
	case strings.HasPrefix(p, "/"), strings.Contains(p, "\\"), strings.ContainsRune(p, 0):
		return fmt.Errorf("path %q: must be relative and slash-separated", p)
	case path.Clean(p) != p, p == ".", p == "..", strings.HasPrefix(p, "../"):
		return fmt.Errorf("path %q: not a clean path inside the artifact", p)
	}
	return nil
}

// ScanDir lists the regular files under dir as a manifest for key, hashing
// each. Symbolic links and other special files are refused: an artifact is
// plain files.
func ScanDir(ctx context.Context, key, dir string) (*Manifest, error) {
	m := &Manifest{Version: ManifestVersion, Key: key, Files: []File{}}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s: not a regular file (artifacts hold plain files only)", p)
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		sum, size, err := HashFile(p)
		if err != nil {
			return err
		}
		m.Files = append(m.Files, File{Path: filepath.ToSlash(rel), Size: size, SHA256: sum})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("scan artifact %s in %s: %w", key, dir, err)
	}
	sort.Slice(m.Files, func(i, j int) bool { return m.Files[i].Path < m.Files[j].Path })
	return m, nil
}

// HashFile returns the hex sha256 and size of a file.
func HashFile(p string) (string, int64, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	sum, n, err := HashReader(f)
	if err != nil {
		return "", 0, fmt.Errorf("read %s: %w", p, err)
	}
	return sum, n, nil
}

// HashReader returns the sha256 (lower-case hex) and length of what r
// holds, read to its end.
func HashReader(r io.Reader) (string, int64, error) {
	h := sha256.New()
	// readerOnly hides *os.File's WriteTo, which would first probe
	// sendfile and splice towards a hash that cannot take them.
	bp := copyBufs.Get().(*[]byte)
	n, err := io.CopyBuffer(h, readerOnly{r}, *bp)
	copyBufs.Put(bp)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

type readerOnly struct{ io.Reader }

var copyBufs = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// VerifyDir checks that dir holds exactly the files of m with their sizes
// and sha256. A mismatch gives an error wrapping ErrCorrupt naming the file.
func VerifyDir(ctx context.Context, m *Manifest, dir string) error {
	want := make(map[string]bool, len(m.Files))
	for _, f := range m.Files {
		if err := ctx.Err(); err != nil {
			return err
		}
		want[f.Path] = true
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		sum, size, err := HashFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("artifact %s: %s is missing: %w", m.Key, p, ErrCorrupt)
		}
		if err != nil {
			return fmt.Errorf("artifact %s: %w", m.Key, err)
		}
		if size != f.Size {
			return fmt.Errorf("artifact %s: %s has %d bytes, the manifest says %d: %w", m.Key, p, size, f.Size, ErrCorrupt)
		}
		if sum != f.SHA256 {
			return fmt.Errorf("artifact %s: %s has sha256 %s, the manifest says %s: %w", m.Key, p, sum, f.SHA256, ErrCorrupt)
		}
	}
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("artifact %s: %w", m.Key, err)
		}
		if d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		if !want[filepath.ToSlash(rel)] {
			return fmt.Errorf("artifact %s: %s is not in the manifest: %w", m.Key, p, ErrCorrupt)
		}
		return nil
	})
}

// FetchInto materialises an artifact described by m into the directory dst
// (which must not exist): open returns the content of one file, every file
// is checked against its size and sha256 while it is written into a
// temporary directory beside dst, and the directory is renamed to dst at
// the end. At most workers files are transferred at once. If dst appears
// meanwhile (another process fetched the same key), that copy is kept.
func FetchInto(ctx context.Context, m *Manifest, dst string, workers int, open func(ctx context.Context, f File) (io.ReadCloser, error)) error {
	if _, err := os.Lstat(dst); err == nil {
		return fmt.Errorf("fetch %s: destination %s already exists", m.Key, dst)
	}
	parent := filepath.Dir(dst)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("fetch %s: %w", m.Key, err)
	}
	tmp, err := os.MkdirTemp(parent, ".fetch-"+filepath.Base(dst)+"-")
	if err != nil {
		return fmt.Errorf("fetch %s: %w", m.Key, err)
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(tmp)
		}
	}()
	if workers < 1 {
		workers = 1
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		sem      = make(chan struct{}, workers)
	)
	for _, f := range m.Files {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func(f File) {
			defer func() { <-sem; wg.Done() }()
			if err := fetchFile(ctx, m.Key, f, filepath.Join(tmp, filepath.FromSlash(f.Path)), open); err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
					cancel()
				}
				mu.Unlock()
			}
		}(f)
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("fetch %s: %w", m.Key, err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		if _, statErr := os.Stat(dst); statErr == nil {
			return nil // fetched concurrently by someone else; their copy is complete too
		}
		return fmt.Errorf("fetch %s: move into place: %w", m.Key, err)
	}
	ok = true
	return nil
}

func fetchFile(ctx context.Context, key string, f File, dst string, open func(context.Context, File) (io.ReadCloser, error)) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("fetch %s: %w", key, err)
	}
	rc, err := open(ctx, f)
	if err != nil {
		return fmt.Errorf("fetch %s file %s: %w", key, f.Path, err)
	}
	defer rc.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("fetch %s: %w", key, err)
	}
	h := sha256.New()
	// Read one byte more than promised to notice a file that is too long.
	n, err := io.Copy(io.MultiWriter(out, h), io.LimitReader(rc, f.Size+1))
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("fetch %s file %s: %w", key, f.Path, err)
	}
	if n != f.Size {
		return fmt.Errorf("fetch %s file %s: size %d, manifest says %d: the store copy is damaged (%w); run lair verify to quarantine it", key, f.Path, n, f.Size, ErrCorrupt)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != f.SHA256 {
		return fmt.Errorf("fetch %s file %s: sha256 %s, manifest says %s: the store copy is damaged (%w); run lair verify to quarantine it", key, f.Path, got, f.SHA256, ErrCorrupt)
	}
	return nil
}
