package s3fake

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// Test credentials accepted by the server.
const (
	AccessKey = "lair-test-key"
	SecretKey = "lair-test-secret"
	Region    = "us-east-1"
)

// Server is a running fake S3 endpoint.
type Server struct {
	URL     string // http://127.0.0.1:port
	Backend *s3mem.Backend
	srv     *httptest.Server
	// BeforePut, when set, is called with the object path (bucket/key)
	// before a PUT of an object is handled; it may block.
	BeforePut func(object string)

	mu       sync.Mutex
	requests map[string]int // method -> count
}

// Requests returns how many requests of each method the server has
// answered, and resets the counts.
func (s *Server) Requests() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.requests
	s.requests = map[string]int{}
	return out
}

// Start starts a server with the given buckets. Close it when done.
func Start(buckets ...string) (*Server, error) {
	backend := s3mem.New()
	for _, b := range buckets {
		if err := backend.CreateBucket(b); err != nil {
			return nil, fmt.Errorf("create bucket %s: %w", b, err)
		}
	}
	s := &Server{Backend: backend, requests: map[string]int{}}
	fake := gofakes3.New(backend, gofakes3.WithTimeSkewLimit(0))
	inner := fake.Server()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s.srv = &httptest.Server{Listener: l, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests[r.Method]++
		s.mu.Unlock()
		if ak := accessKeyOf(r); ak != AccessKey {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusForbidden)
			if r.Method != http.MethodHead {
				fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>InvalidAccessKeyId</Code><Message>The AWS Access Key Id %q does not exist in our records.</Message></Error>`, ak)
			}
			return
		}
		if r.Method == http.MethodPut && s.BeforePut != nil && strings.Count(strings.Trim(r.URL.Path, "/"), "/") >= 1 {
			s.BeforePut(strings.TrimPrefix(r.URL.Path, "/"))
		}
		inner.ServeHTTP(w, r)
	})}}
	s.srv.Start()
	s.URL = s.srv.URL
	return s, nil
}

// Env returns the AWS environment variables that point a client at s.
func (s *Server) Env() []string {
	return []string{
		"AWS_ACCESS_KEY_ID=" + AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + SecretKey,
		"AWS_REGION=" + Region,
		"AWS_ENDPOINT_URL=" + s.URL,
	}
}

// Getenv returns a getenv function over Env, for s3store.FromEnv.
func (s *Server) Getenv() func(string) string {
	m := map[string]string{}
	for _, kv := range s.Env() {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return func(k string) string { return m[k] }
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// Objects lists every object name in bucket (for tests).
func (s *Server) Objects(bucket string) ([]string, error) {
	list, err := s.Backend.ListBucket(bucket, nil, gofakes3.ListBucketPage{})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, c := range list.Contents {
		out = append(out, c.Key)
	}
	return out, nil
}

// Overwrite replaces an object's content (for corruption tests).
func (s *Server) Overwrite(bucket, object string, data []byte) error {
	_, err := s.Backend.PutObject(bucket, object, map[string]string{}, strings.NewReader(string(data)), int64(len(data)), nil)
	return err
}

// accessKeyOf extracts the access key of a SigV4 (header or query) request.
func accessKeyOf(r *http.Request) string {
	auth := r.Header.Get("Authorization")
	if i := strings.Index(auth, "Credential="); i >= 0 {
		cred := auth[i+len("Credential="):]
		ak, _, _ := strings.Cut(cred, "/")
		return ak
	}
	if c := r.URL.Query().Get("X-Amz-Credential"); c != "" {
		ak, _, _ := strings.Cut(c, "/")
		return ak
	}
	return ""
}
