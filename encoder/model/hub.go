package model

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/lair-ir/lair/encoder/onnxpb"
	"github.com/lair-ir/lair/internal/fetch"
	"github.com/lair-ir/lair/internal/fsutil"
)

// Ref is a parsed `hf://org/name[@revision]` reference.
type Ref struct {
	Repo     string // "org/name"
	Revision string // branch, tag or commit; "main" when omitted
}

func (r Ref) String() string { return "hf://" + r.Repo + "@" + r.Revision }

var (
	nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	repoRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$`)
)

// ParseRef parses `hf://org/name[@revision]`. ok is false when s is not an
// hf:// reference at all (a local path).
func ParseRef(s string) (ref Ref, ok bool, err error) {
	rest, found := strings.CutPrefix(s, "hf://")
	if !found {
		return Ref{}, false, nil
	}
	repo, rev, _ := strings.Cut(rest, "@")
	if rev == "" {
		rev = "main"
	}
	if nameRE.MatchString(repo) {
		return Ref{}, true, fmt.Errorf("model reference %q: names only %q; want hf://org/name[@revision] (the hub's models live under an organisation or user, e.g. hf://sentence-transformers/all-MiniLM-L6-v2)", s, repo)
	}
	if !repoRE.MatchString(repo) || strings.Contains(repo, "..") {
		return Ref{}, true, fmt.Errorf("model reference %q: want hf://org/name[@revision]", s)
	}
	if strings.ContainsAny(rev, " \\") || strings.Contains(rev, "..") || strings.HasPrefix(rev, "/") {
		return Ref{}, true, fmt.Errorf("model reference %q: bad revision %q", s, rev)
	}
	return Ref{Repo: repo, Revision: rev}, true, nil
}

// Hub downloads model folders from a Hugging Face Hub endpoint.
type Hub struct {
	Endpoint string       // default $HF_ENDPOINT or https://huggingface.co
	Token    string       // default $HF_TOKEN; sent as a Bearer token to the endpoint
	CacheDir string       // files go to CacheDir/models/<org>--<name>/...
	Client   *http.Client // nil: internal/fetch's client with connect and header timeouts
	Offline  bool         // use only what is cached ($HF_HUB_OFFLINE=1)
	Log      *slog.Logger
	// Download is the downloader (timeouts, retries, progress); nil: one
	// with internal/fetch's defaults, Client and Log.
	Download *fetch.Client

	once sync.Once
}

// NewHub returns a Hub configured from the environment.
func NewHub(cacheDir string, log *slog.Logger) *Hub {
	h := &Hub{Endpoint: os.Getenv("HF_ENDPOINT"), Token: os.Getenv("HF_TOKEN"), CacheDir: cacheDir,
		Offline: os.Getenv("HF_HUB_OFFLINE") == "1", Log: log}
	if h.Endpoint == "" {
		h.Endpoint = "https://huggingface.co"
	}
	return h
}

// Resolve returns a local folder for a path or an hf:// reference,
// downloading what is missing.
func (h *Hub) Resolve(ctx context.Context, pathOrRef string) (string, error) {
	ref, isRef, err := ParseRef(pathOrRef)
	if err != nil {
		return "", err
	}
	if !isRef {
		return pathOrRef, nil
	}
	return h.Fetch(ctx, ref)
}

// Fetch downloads tokenizer.json, config.json and model.onnx (or
// onnx/model.onnx) of ref into the cache and returns the snapshot folder.
func (h *Hub) Fetch(ctx context.Context, ref Ref) (string, error) {
	if h.CacheDir == "" {
		return "", errors.New("model download: no cache directory configured")
	}
	repoDir := filepath.Join(h.CacheDir, "models", strings.ReplaceAll(ref.Repo, "/", "--"))
	snap := filepath.Join(repoDir, "snapshots", ref.Revision)
	if b, err := os.ReadFile(filepath.Join(repoDir, "refs", ref.Revision)); err == nil && h.Offline {
		snap = filepath.Join(repoDir, "snapshots", strings.TrimSpace(string(b)))
	}
	if h.Offline {
		if _, err := os.Stat(filepath.Join(snap, ConfigFile)); err != nil {
			return "", fmt.Errorf("model %s: not in the cache %s and HF_HUB_OFFLINE=1", ref, repoDir)
		}
		for _, f := range []string{ConfigFile, TokenizerFile, ONNXFile, ONNXSubFile} {
			p := filepath.Join(snap, filepath.FromSlash(f))
			if _, err := verifyCached(p, ""); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return "", fmt.Errorf("model %s (HF_HUB_OFFLINE=1): %w; run once without HF_HUB_OFFLINE to download it again", ref, err)
			}
		}
		return snap, nil
	}
	var commit string
	for _, f := range []string{ConfigFile, TokenizerFile, ONNXFile} {
		dst, c, err := h.fetchFile(ctx, ref, repoDir, f)
		if errors.Is(err, errNotFound) && f == ONNXFile {
			dst, c, err = h.fetchFile(ctx, ref, repoDir, ONNXSubFile)
		}
		if err != nil {
			return "", err
		}
		if commit == "" {
			commit = c
		}
		snap = filepath.Dir(dst)
		if f == ONNXFile && strings.HasSuffix(dst, ONNXSubFile) {
			snap = filepath.Dir(snap)
		}
		if f == ONNXFile {
			// Models over 2 GB keep their weights in external data files
			// next to the ONNX file (model.onnx_data): fetch those too.
			if err := h.fetchExternal(ctx, ref, repoDir, dst, strings.HasSuffix(dst, ONNXSubFile)); err != nil {
				return "", err
			}
		}
	}
	if commit != "" && commit != ref.Revision {
		if err := os.MkdirAll(filepath.Join(repoDir, "refs"), 0o755); err == nil {
			_ = fsutil.WriteFile(filepath.Join(repoDir, "refs", ref.Revision), []byte(commit), 0o644)
		}
	}
	return snap, nil
}

// fetchExternal downloads the external data files the ONNX file at
// onnxPath refers to (relative to its folder in the repository).
func (h *Hub) fetchExternal(ctx context.Context, ref Ref, repoDir, onnxPath string, sub bool) error {
	b, err := os.ReadFile(onnxPath)
	if err != nil {
		return err
	}
	g, err := onnxpb.DecodeStructure(b)
	if err != nil {
		return fmt.Errorf("model %s: %s is not a valid ONNX file: %w", ref, onnxPath, err)
	}
	files, err := g.Graph.ExternalFiles()
	if err != nil {
		return fmt.Errorf("model %s: %w", ref, err)
	}
	for _, f := range files {
		name := filepath.ToSlash(f)
		if sub {
			name = "onnx/" + name
		}
		if _, _, err := h.fetchFile(ctx, ref, repoDir, name); err != nil {
			return fmt.Errorf("model %s: external data %s: %w", ref, name, err)
		}
	}
	return nil
}

var errNotFound = errors.New("not found")

var sha256RE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// meta is what a HEAD request on a resolve URL tells.
type meta struct {
	commit string
	sha256 string // "" when the hub gives none (non-LFS files carry a git blob sha1)
	size   int64  // -1 when unknown
}

func (h *Hub) fetcher() *fetch.Client {
	h.once.Do(func() {
		if h.Download == nil {
			h.Download = &fetch.Client{HTTP: h.Client, Log: h.Log}
		}
	})
	return h.Download
}

func (h *Hub) header() http.Header {
	hd := http.Header{"User-Agent": {"lair"}}
	if h.Token != "" {
		// net/http drops this header when a redirect leaves the endpoint's host.
		hd.Set("Authorization", "Bearer "+h.Token)
	}
	return hd
}

func (h *Hub) resolveURL(ref Ref, file string) string {
	return strings.TrimRight(h.Endpoint, "/") + "/" + ref.Repo + "/resolve/" + url.PathEscape(ref.Revision) + "/" + file
}

func cleanEtag(s string) string {
	s = strings.TrimPrefix(strings.TrimSpace(s), "W/")
	return strings.ToLower(strings.Trim(s, `"`))
}

// head asks for a file's metadata without following redirects: LFS files
// answer with a redirect that carries X-Linked-Etag (the SHA-256) and
// X-Linked-Size.
func (h *Hub) head(ctx context.Context, ref Ref, file string) (meta, error) {
	u := h.resolveURL(ref, file)
	for hops := 0; ; hops++ {
		resp, err := h.fetcher().Head(ctx, u, h.header())
		if err != nil {
			return meta{}, fmt.Errorf("model %s: %s: %w", ref, file, err)
		}
		m := meta{commit: resp.Header.Get("X-Repo-Commit"), size: -1}
		if e := cleanEtag(resp.Header.Get("X-Linked-Etag")); sha256RE.MatchString(e) {
			m.sha256 = e
		} else if e := cleanEtag(resp.Header.Get("ETag")); sha256RE.MatchString(e) {
			m.sha256 = e
		}
		if _, err := fmt.Sscan(resp.Header.Get("X-Linked-Size"), &m.size); err != nil {
			m.size = -1
			if resp.StatusCode == http.StatusOK && resp.ContentLength >= 0 {
				m.size = resp.ContentLength
			}
		}
		switch {
		case resp.StatusCode == http.StatusOK:
			return m, nil
		case resp.StatusCode >= 300 && resp.StatusCode < 400:
			if resp.Header.Get("X-Linked-Etag") != "" || hops >= 5 {
				return m, nil // an LFS file: the redirect goes to the storage backend
			}
			// A renamed repository: follow the relative redirect on the hub.
			loc, err := resp.Location()
			if err != nil {
				return meta{}, fmt.Errorf("model %s: %s: redirect without location", ref, file)
			}
			u = loc.String()
		case resp.StatusCode == http.StatusNotFound:
			if resp.Header.Get("X-Error-Code") == "RepoNotFound" {
				return meta{}, fmt.Errorf("model %s: repository not found at %s (private or gated repositories need HF_TOKEN)", ref, h.Endpoint)
			}
			if resp.Header.Get("X-Error-Code") == "RevisionNotFound" {
				return meta{}, fmt.Errorf("model %s: revision %s not found", ref, ref.Revision)
			}
			return meta{}, fmt.Errorf("model %s: %s: %w", ref, file, errNotFound)
		case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
			return meta{}, fmt.Errorf("model %s: %s: access denied (HTTP %d): set HF_TOKEN to a token that may read this repository", ref, file, resp.StatusCode)
		default:
			return meta{}, fmt.Errorf("model %s: %s: HTTP %s from %s", ref, file, resp.Status, u)
		}
	}
}

// fetchFile makes sure snapshots/<commit>/<file> is in the cache and
// verified (internal/fetch: SHA-256 from X-Linked-Etag for LFS files,
// learned for the others, checked again on every use); it returns its path
// and the commit.
func (h *Hub) fetchFile(ctx context.Context, ref Ref, repoDir, file string) (string, string, error) {
	m, err := h.head(ctx, ref, file)
	if err != nil {
		return "", "", err
	}
	snapName := m.commit
	if snapName == "" {
		snapName = ref.Revision
	}
	dst := filepath.Join(repoDir, "snapshots", snapName, filepath.FromSlash(file))
	migrateLegacySum(dst)
	if h.Log != nil {
		h.Log.Debug("model file", "model", ref.String(), "file", file, "size", m.size, "sha256", m.sha256)
	}
	_, err = h.fetcher().Get(ctx, fetch.Request{
		URL:     h.resolveURL(ref, file),
		Header:  h.header(),
		Dst:     dst,
		SHA256:  m.sha256,
		Size:    m.size,
		WorkDir: filepath.Join(repoDir, "partial", snapName, filepath.Dir(filepath.FromSlash(file))),
	})
	if err != nil {
		var ce *fetch.ChecksumError
		if errors.As(err, &ce) {
			return "", "", fmt.Errorf("model %s: %s: %w; the partial download was removed, run again", ref, file, err)
		}
		return "", "", fmt.Errorf("model %s: %s: %w (run again to resume)", ref, file, err)
	}
	return dst, m.commit, nil
}

// verifyCached checks a cached model file against want (or the hash it was
// verified with before), accepting the <file>.sha256 that earlier lair
// versions wrote.
func verifyCached(path, want string) (string, error) {
	migrateLegacySum(path)
	return fetch.Verify(path, want)
}

// migrateLegacySum turns the <file>.sha256 of earlier lair versions into a
// verified marker, re-hashing the file once.
func migrateLegacySum(path string) {
	b, err := os.ReadFile(path + ".sha256")
	if err != nil {
		return
	}
	if _, err := os.Stat(path + fetch.MarkerSuffix); err != nil {
		if sum := strings.TrimSpace(string(b)); sha256RE.MatchString(sum) {
			fetch.Verify(path, sum) // writes the marker when the file matches
		}
	}
	os.Remove(path + ".sha256")
}
