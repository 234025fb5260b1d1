package s3server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/lockedfile"
)

// Version is the versitygw release the tests run.
const Version = "v1.8.0"

const module = "github.com/versity/versitygw/cmd/versitygw"

// Default credentials of the root user of a started server.
const (
	AccessKey = "lairtestaccess"
	SecretKey = "lairtestsecret0123456789"
	Region    = "us-east-1"
)

func missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("LAIR_REQUIRE_TOOLS") == "1" {
		t.Fatalf("%s (LAIR_REQUIRE_TOOLS=1: `make versitygw` builds it)", msg)
	}
	t.Skip(msg)
}

// CacheDir returns where the built gateway lives:
// $LAIR_CACHE/tools/versitygw-<Version>, else <user cache>/lair/tools/...
func CacheDir() (string, error) {
	base := os.Getenv("LAIR_CACHE")
	if base == "" {
		uc, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("no cache directory (set LAIR_CACHE): %w", err)
		}
		base = filepath.Join(uc, "lair")
	}
	return filepath.Join(base, "tools", "versitygw-"+Version), nil
}

// Build builds the gateway into CacheDir unless it is there already and
// returns its path. Concurrent callers (test packages run in parallel)
// wait on a lock file and build it once. logf receives progress lines.
func Build(ctx context.Context, logf func(string, ...any)) (string, error) {
	if p := os.Getenv("LAIR_VERSITYGW"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("LAIR_VERSITYGW=%s: %w", p, err)
		}
		return p, nil
	}
	dir, err := CacheDir()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "versitygw")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("versitygw cache: %w", err)
	}
	unlock, err := lockedfile.MutexAt(filepath.Join(dir, "build.lock")).Lock()
	if err != nil {
		return "", fmt.Errorf("versitygw build lock in %s: %w", dir, err)
	}
	defer unlock()
	if _, err := os.Stat(bin); err == nil {
		return bin, nil // built by another process while we waited
	}
	tmp, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	logf("building %s@%s into %s (once; a few minutes on 2 cores)", module, Version, dir)
	t0 := time.Now()
	cmd := exec.CommandContext(ctx, "go", "install", "-trimpath", module+"@"+Version)
	cmd.Dir = tmp // outside any module: go install pkg@version uses versitygw's own go.mod
	env := []string{"GOBIN=" + tmp, "GOFLAGS=", "GOWORK=off", "GOEXPERIMENT=", "CGO_ENABLED=0"}
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go install %s@%s: %w\n%s", module, Version, err, tailLines(out.String(), 20))
	}
	if err := os.Rename(filepath.Join(tmp, "versitygw"), bin); err != nil {
		return "", fmt.Errorf("versitygw: %w", err)
	}
	logf("built versitygw %s in %s", Version, time.Since(t0).Round(time.Second))
	return bin, nil
}

// Binary returns the gateway binary for a test, building it when needed;
// the test skips (or fails under LAIR_REQUIRE_TOOLS=1) when that fails.
func Binary(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	bin, err := Build(ctx, t.Logf)
	if err != nil {
		missing(t, "no versitygw S3 server: %v", err)
	}
	return bin
}

// Server is a running versitygw gateway over a POSIX directory.
type Server struct {
	// Endpoint is http://127.0.0.1:PORT.
	Endpoint string
	// Addr is 127.0.0.1:PORT.
	Addr string
	// Root is the POSIX backend directory: bucket b's object k is the file
	// Root/b/k.
	Root string
	// AccessKey and SecretKey are the root user's credentials.
	AccessKey, SecretKey string

	cmd  *exec.Cmd
	done chan error
	log  *syncBuffer
}

// syncBuffer is a bytes.Buffer safe for the gateway's output goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Options change how Start runs the gateway.
type Options struct {
	// Root is the directory to serve (default: a new t.TempDir()).
	Root string
	// Buckets are created (as directories, before the gateway starts).
	Buckets []string
}

// Start runs the gateway for the duration of the test and waits until it
// answers. The gateway is stopped in t.Cleanup.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	bin := Binary(t)
	if opts.Root == "" {
		opts.Root = t.TempDir()
	}
	for _, b := range opts.Buckets {
		if err := os.MkdirAll(filepath.Join(opts.Root, b), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		s, err := start(bin, opts.Root, "")
		if err != nil && strings.Contains(err.Error(), "xattr") {
			// A filesystem without user xattrs: keep metadata in a sidecar
			// directory instead.
			s, err = start(bin, opts.Root, t.TempDir())
		}
		if err == nil {
			t.Cleanup(func() {
				if err := s.Stop(); err != nil {
					t.Logf("versitygw: %v", err)
				}
			})
			return s
		}
		lastErr = err
	}
	t.Fatalf("versitygw did not start: %v", lastErr)
	return nil
}

func start(bin, root, sidecar string) (*Server, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	args := []string{"--port", addr, "--access", AccessKey, "--secret", SecretKey, "--region", Region, "--quiet", "posix"}
	if sidecar != "" {
		args = append(args, "--sidecar", sidecar)
	}
	args = append(args, root)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY=", "ROOT_SECRET_KEY=")
	log := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	s := &Server{Endpoint: "http://" + addr, Addr: addr, Root: root, AccessKey: AccessKey, SecretKey: SecretKey, cmd: cmd, done: make(chan error, 1), log: log}
	go func() { s.done <- cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-s.done:
			s.done <- err
			return nil, fmt.Errorf("versitygw exited: %v\n%s", err, tailLines(log.String(), 20))
		default:
		}
		resp, err := http.Get(s.Endpoint + "/")
		if err == nil {
			resp.Body.Close()
			return s, nil // any HTTP answer (403 unsigned) means it serves
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.Stop()
	return nil, fmt.Errorf("versitygw on %s did not answer within 30s\n%s", addr, tailLines(log.String(), 20))
}

// Env returns the AWS environment variables that point lair (or any AWS
// client) at the server with the root credentials.
func (s *Server) Env() []string {
	return EnvFor(s.Endpoint, s.AccessKey, s.SecretKey)
}

// EnvFor returns AWS environment variables for endpoint and credentials.
func EnvFor(endpoint, access, secret string) []string {
	return []string{
		"AWS_ENDPOINT_URL=" + endpoint, "AWS_ENDPOINT_URL_S3=", "AWS_REGION=" + Region, "AWS_DEFAULT_REGION=",
		"AWS_ACCESS_KEY_ID=" + access, "AWS_SECRET_ACCESS_KEY=" + secret, "AWS_SESSION_TOKEN=",
		"AWS_PROFILE=", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
	}
}

// Getenv looks names up in Env (for code that takes a getenv function).
func (s *Server) Getenv() func(string) string {
	m := map[string]string{}
	for _, kv := range s.Env() {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return func(k string) string { return m[k] }
}

// Objects returns every object key under bucket/prefix (slash-separated,
// sorted), read from the backend directory, not through S3. Directories
// that versitygw keeps for itself (names starting with ".sgwtmp") are
// skipped; they are listed by Temporaries.
func (s *Server) Objects(bucket, prefix string) ([]string, error) {
	var keys []string
	root := filepath.Join(s.Root, bucket)
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), ".sgwtmp") {
			return filepath.SkipDir
		}
		if d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if strings.HasPrefix(rel, prefix) {
			keys = append(keys, rel)
		}
		return nil
	})
	return keys, err
}

// Stop ends the gateway (SIGTERM, then SIGKILL after 5s).
func (s *Server) Stop() error {
	if s.cmd.Process == nil {
		return nil
	}
	select {
	case err := <-s.done:
		s.done <- err
		return nil
	default:
	}
	_ = s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	s.done <- errors.New("stopped")
	return nil
}

// Log returns what the gateway printed so far.
func (s *Server) Log() string { return s.log.String() }

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("no free port on 127.0.0.1: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
