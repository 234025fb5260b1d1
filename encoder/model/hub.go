package model

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Ref is a parsed `hf://org/name[@revision]` reference.
type Ref struct {
	Repo     string // "org/name"
	Revision string // branch, tag or commit; "main" when omitted
}

func (r Ref) String() string { return "hf://" + r.Repo + "@" + r.Revision }

var repoRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$`)

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
	Endpoint string // default $HF_ENDPOINT or https://huggingface.co
	Token    string // default $HF_TOKEN; sent as a Bearer token to the endpoint
	CacheDir string // files go to CacheDir/models/<org>--<name>/...
	Client   *http.Client
	Offline  bool // use only what is cached ($HF_HUB_OFFLINE=1)
	Log      *slog.Logger
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
	}
	if commit != "" && commit != ref.Revision {
		if err := os.MkdirAll(filepath.Join(repoDir, "refs"), 0o755); err == nil {
			_ = writeFileAtomic(filepath.Join(repoDir, "refs", ref.Revision), []byte(commit))
		}
	}
	return snap, nil
}

var errNotFound = errors.New("not found")

var sha256RE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// meta is what a HEAD request on a resolve URL tells.
type meta struct {
	commit string
	sha256 string // "" when the hub gives none (non-LFS files carry a git blob sha1)
	size   int64  // -1 when unknown
}

func (h *Hub) client() *http.Client {
	if h.Client != nil {
		return h.Client
	}
	return http.DefaultClient
}

func (h *Hub) resolveURL(ref Ref, file string) string {
	return strings.TrimRight(h.Endpoint, "/") + "/" + ref.Repo + "/resolve/" + url.PathEscape(ref.Revision) + "/" + file
}

func (h *Hub) newRequest(ctx context.Context, method, u string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", "lair")
	if h.Token != "" {
		// net/http drops this header when a redirect leaves the endpoint's host.
		req.Header.Set("Authorization", "Bearer "+h.Token)
	}
	return req, nil
}

func cleanEtag(s string) string {
	s = strings.TrimPrefix(strings.TrimSpace(s), "W/")
	return strings.ToLower(strings.Trim(s, `"`))
}

// head asks for a file's metadata without following redirects: LFS files
// answer with a redirect that carries X-Linked-Etag (the SHA-256) and
// X-Linked-Size.
func (h *Hub) head(ctx context.Context, ref Ref, file string) (meta, error) {
	c := *h.client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	u := h.resolveURL(ref, file)
	for hops := 0; ; hops++ {
		req, err := h.newRequest(ctx, http.MethodHead, u)
		if err != nil {
			return meta{}, err
		}
		resp, err := c.Do(req)
		if err != nil {
			return meta{}, fmt.Errorf("model %s: %s: %w", ref, file, err)
		}
		resp.Body.Close()
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
// verified; it returns its path and the commit.
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
	if st, err := os.Stat(dst); err == nil && (m.size < 0 || st.Size() == m.size) {
		ok := true
		if m.sha256 != "" {
			sum, _ := os.ReadFile(dst + ".sha256")
			ok = strings.TrimSpace(string(sum)) == m.sha256
		}
		if ok {
			return dst, m.commit, nil
		}
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", "", err
	}
	if err := h.download(ctx, ref, file, dst, m); err != nil {
		return "", "", err
	}
	return dst, m.commit, nil
}

// download GETs the file into dst.incomplete (resuming with a Range request
// when a partial file exists), verifies size and SHA-256, then renames it.
func (h *Hub) download(ctx context.Context, ref Ref, file, dst string, m meta) error {
	part := dst + ".incomplete"
	var have int64
	if st, err := os.Stat(part); err == nil {
		have = st.Size()
	}
	req, err := h.newRequest(ctx, http.MethodGet, h.resolveURL(ref, file))
	if err != nil {
		return err
	}
	if have > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", have))
	}
	resp, err := h.client().Do(req)
	if err != nil {
		return fmt.Errorf("model %s: download %s: %w (run again to resume)", ref, file, err)
	}
	defer resp.Body.Close()
	flags := os.O_CREATE | os.O_WRONLY
	switch resp.StatusCode {
	case http.StatusPartialContent:
		flags |= os.O_APPEND
	case http.StatusOK:
		have = 0
		flags |= os.O_TRUNC
	case http.StatusRequestedRangeNotSatisfiable:
		// The partial file is complete or bigger than the file: start over.
		os.Remove(part)
		return h.download(ctx, ref, file, dst, m)
	default:
		return fmt.Errorf("model %s: download %s: HTTP %s", ref, file, resp.Status)
	}
	if h.Log != nil {
		h.Log.Info("downloading", "model", ref.String(), "file", file, "resume_at", have, "size", m.size)
	}
	f, err := os.OpenFile(part, flags, 0o644)
	if err != nil {
		return err
	}
	_, copyErr := io.Copy(f, resp.Body)
	closeErr := f.Close()
	if copyErr != nil {
		return fmt.Errorf("model %s: download %s: %w (run again to resume)", ref, file, copyErr)
	}
	if closeErr != nil {
		return closeErr
	}
	st, err := os.Stat(part)
	if err != nil {
		return err
	}
	if m.size >= 0 && st.Size() != m.size {
		if st.Size() > m.size {
			os.Remove(part)
		}
		return fmt.Errorf("model %s: %s: downloaded %d bytes, the hub announced %d (run again to resume)", ref, file, st.Size(), m.size)
	}
	sum, err := fileSHA256(part)
	if err != nil {
		return err
	}
	if m.sha256 != "" && sum != m.sha256 {
		os.Remove(part)
		return fmt.Errorf("model %s: %s: checksum mismatch: got sha256 %s, the hub announced %s; the partial download was removed, run again", ref, file, sum, m.sha256)
	}
	if err := os.Rename(part, dst); err != nil {
		return err
	}
	return writeFileAtomic(dst+".sha256", []byte(sum+"\n"))
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func writeFileAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
