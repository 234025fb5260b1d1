package s3store

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/lair-ir/lair/storage"
)

// singlePutMax is the largest file minio-go uploads in one PUT (its
// default part size); larger files go multipart.
const singlePutMax = 16 << 20

// MarkerName is the name of the object that publishes an artifact.
const MarkerName = "_COMPLETE"

// Config is everything needed to reach a bucket. FromEnv fills it from the
// AWS environment variables.
type Config struct {
	Bucket       string
	Prefix       string // without leading or trailing slash; may be empty
	Endpoint     string // URL, e.g. https://s3.amazonaws.com or http://127.0.0.1:9000
	Region       string
	AccessKey    string
	SecretKey    string
	SessionToken string
	// Workers bounds concurrent file transfers per Publish or Fetch (default 4).
	Workers int
	// MaxRetries bounds retries of one request (default 3).
	MaxRetries int
	// CheckTimeout bounds Check (default 20s).
	CheckTimeout time.Duration
}

// ParseURL splits s3://bucket/prefix.
func ParseURL(raw string) (bucket, prefix string, err error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", fmt.Errorf("store URL %q: %w", raw, err)
	}
	if u.Scheme != "s3" {
		return "", "", fmt.Errorf("store URL %q: want s3://bucket/prefix", raw)
	}
	if u.Host == "" {
		return "", "", fmt.Errorf("store URL %q: no bucket (want s3://bucket/prefix)", raw)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", "", fmt.Errorf("store URL %q: user info, query and fragment are not allowed; credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY", raw)
	}
	return u.Host, strings.Trim(u.Path, "/"), nil
}

// FromEnv builds a Config for the store URL s3://bucket/prefix, reading the
// AWS environment variables through getenv (os.Getenv in production).
func FromEnv(rawURL string, getenv func(string) string) (Config, error) {
	bucket, prefix, err := ParseURL(rawURL)
	if err != nil {
		return Config{}, err
	}
	c := Config{
		Bucket:       bucket,
		Prefix:       prefix,
		Endpoint:     first(getenv("AWS_ENDPOINT_URL_S3"), getenv("AWS_ENDPOINT_URL"), "https://s3.amazonaws.com"),
		Region:       first(getenv("AWS_REGION"), getenv("AWS_DEFAULT_REGION"), "us-east-1"),
		AccessKey:    getenv("AWS_ACCESS_KEY_ID"),
		SecretKey:    getenv("AWS_SECRET_ACCESS_KEY"),
		SessionToken: getenv("AWS_SESSION_TOKEN"),
	}
	return c, nil
}

func first(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// Store is an S3 bucket as a storage.Remote; storage.NewCached makes a
// storage.Store of it.
type Store struct {
	cfg      Config
	client   *minio.Client
	endpoint string // for messages
}

var _ storage.Remote = (*Store)(nil)

// Open returns a store for the URL s3://bucket/prefix configured from the
// process environment. It does not contact the server; call Check.
func Open(rawURL string) (*Store, error) {
	cfg, err := FromEnv(rawURL, os.Getenv)
	if err != nil {
		return nil, err
	}
	return New(cfg)
}

// New returns a store for cfg. It does not contact the server; call Check.
func New(cfg Config) (*Store, error) {
	if cfg.Workers <= 0 {
		cfg.Workers = 4
	}
	if cfg.MaxRetries <= 0 {
		cfg.MaxRetries = 3
	}
	if cfg.CheckTimeout <= 0 {
		cfg.CheckTimeout = 20 * time.Second
	}
	cfg.Prefix = strings.Trim(cfg.Prefix, "/")
	ep, err := url.Parse(cfg.Endpoint)
	if err != nil || ep.Host == "" || (ep.Scheme != "http" && ep.Scheme != "https") {
		return nil, fmt.Errorf("S3 endpoint %q (AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL): want http://host[:port] or https://host[:port]", cfg.Endpoint)
	}
	if ep.Path != "" && ep.Path != "/" {
		return nil, fmt.Errorf("S3 endpoint %q: a path is not supported; put it in the store URL prefix instead", cfg.Endpoint)
	}
	var creds *credentials.Credentials
	if cfg.AccessKey == "" && cfg.SecretKey == "" {
		creds = credentials.NewStatic("", "", "", credentials.SignatureAnonymous)
	} else {
		creds = credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, cfg.SessionToken)
	}
	client, err := minio.New(ep.Host, &minio.Options{
		Creds:        creds,
		Secure:       ep.Scheme == "https",
		Region:       cfg.Region,
		BucketLookup: minio.BucketLookupAuto,
		MaxRetries:   cfg.MaxRetries,
	})
	if err != nil {
		return nil, fmt.Errorf("S3 client for %s: %w", cfg.Endpoint, err)
	}
	return &Store{cfg: cfg, client: client, endpoint: ep.Scheme + "://" + ep.Host}, nil
}

// String returns s3://bucket/prefix.
func (s *Store) String() string {
	if s.cfg.Prefix == "" {
		return "s3://" + s.cfg.Bucket
	}
	return "s3://" + s.cfg.Bucket + "/" + s.cfg.Prefix
}

// base is the object name prefix of every key: "<prefix>/" or "".
func (s *Store) base() string {
	if s.cfg.Prefix == "" {
		return ""
	}
	return s.cfg.Prefix + "/"
}

func (s *Store) keyDir(key string) string { return s.base() + key + "/" }

// MarkerObject returns the object name of key's marker.
func (s *Store) MarkerObject(key string) string { return s.keyDir(key) + MarkerName }

// FileObject returns the object name of one file of the artifact m.
func (s *Store) FileObject(m *storage.Manifest, rel string) string {
	return s.keyDir(m.Key) + m.FilesDir() + "/" + rel
}

// Check probes the bucket: the endpoint answers, the credentials are
// accepted, the bucket exists and objects under the prefix can be listed.
func (s *Store) Check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.CheckTimeout)
	defer cancel()
	ok, err := s.client.BucketExists(ctx, s.cfg.Bucket)
	if err != nil {
		return s.explain("check", err)
	}
	if !ok {
		// A HEAD request carries no error body, and some servers answer
		// it with 404 for an unknown access key (versitygw does): a
		// listing says why.
		for obj := range s.client.ListObjects(ctx, s.cfg.Bucket, minio.ListObjectsOptions{MaxKeys: 1}) {
			if obj.Err != nil && minio.ToErrorResponse(obj.Err).Code != "NoSuchBucket" {
				cancel()
				return s.explain("list", obj.Err)
			}
			break
		}
		return fmt.Errorf("store %s: bucket %q does not exist at %s: create it first (e.g. `aws s3 mb s3://%s`) or fix the store URL", s, s.cfg.Bucket, s.endpoint, s.cfg.Bucket)
	}
	for obj := range s.client.ListObjects(ctx, s.cfg.Bucket, minio.ListObjectsOptions{Prefix: s.base(), MaxKeys: 1}) {
		if obj.Err != nil {
			cancel()
			return s.explain("list", obj.Err)
		}
		cancel() // one object is enough
		break
	}
	return nil
}

// explain turns a client error into one message saying what to check.
func (s *Store) explain(op string, err error) error {
	resp := minio.ToErrorResponse(err)
	if resp.Region != "" && resp.Region != s.cfg.Region {
		return fmt.Errorf("store %s at %s: bucket %q is in region %s, but lair signs for %s: set AWS_REGION=%s", s, s.endpoint, s.cfg.Bucket, resp.Region, s.cfg.Region, resp.Region)
	}
	switch resp.Code {
	case "InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "InvalidToken", "ExpiredToken", "InvalidSecurity",
		"XAdminUserNotFound": // versitygw's code for an unknown access key
		return fmt.Errorf("store %s at %s: credentials rejected (%s: %s): check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN) and the bucket policy", s, s.endpoint, resp.Code, resp.Message)
	case "NoSuchBucket":
		return fmt.Errorf("store %s: bucket %q does not exist at %s: create it first or fix the store URL", s, s.cfg.Bucket, s.endpoint)
	}
	if resp.StatusCode == 401 || resp.StatusCode == 403 {
		return fmt.Errorf("store %s at %s: access denied (HTTP %d): check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and the bucket policy", s, s.endpoint, resp.StatusCode)
	}
	var netErr net.Error
	var urlErr *url.Error
	if errors.As(err, &netErr) || errors.As(err, &urlErr) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("store %s: cannot reach S3 endpoint %s (%v): check AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_S3 and the network", s, s.endpoint, err)
	}
	return fmt.Errorf("store %s at %s: %s: %w", s, s.endpoint, op, err)
}

// Manifest returns the manifest of a published key.
func (s *Store) Manifest(ctx context.Context, key string) (*storage.Manifest, error) {
	if err := storage.CheckKey(key); err != nil {
		return nil, err
	}
	obj, err := s.client.GetObject(ctx, s.cfg.Bucket, s.MarkerObject(key), minio.GetObjectOptions{})
	if err != nil {
		return nil, s.explain("get marker of "+key, err)
	}
	defer obj.Close()
	// Markers are small; refuse anything absurd.
	data, err := io.ReadAll(io.LimitReader(obj, 64<<20))
	if err != nil {
		if minio.ToErrorResponse(err).Code == "NoSuchKey" {
			return nil, fmt.Errorf("store %s: key %s: %w", s, key, storage.ErrNotFound)
		}
		return nil, s.explain("get marker of "+key, err)
	}
	m, err := storage.ParseManifest(data, key)
	if err != nil {
		return nil, fmt.Errorf("store %s: object %s: %w", s, s.MarkerObject(key), err)
	}
	return m, nil
}

// Fetch downloads the files of m into dst, verifying every file.
func (s *Store) Fetch(ctx context.Context, m *storage.Manifest, dst string) error {
	dir := s.keyDir(m.Key) + m.FilesDir() + "/"
	err := storage.FetchInto(ctx, m, dst, s.cfg.Workers, func(ctx context.Context, f storage.File) (io.ReadCloser, error) {
		obj, err := s.client.GetObject(ctx, s.cfg.Bucket, dir+f.Path, minio.GetObjectOptions{})
		if err != nil {
			return nil, s.explain("get "+f.Path, err)
		}
		return &resumingReader{ctx: ctx, s: s, name: dir + f.Path, size: f.Size, obj: obj}, nil
	})
	if err != nil {
		return fmt.Errorf("store %s: %w", s, err)
	}
	return nil
}

// resumingReader reads one object. A download the network cuts (or the
// server drops) is resumed from where it stopped with a Range request,
// up to MaxRetries times; "no such object" while reading a file the
// manifest lists is storage.ErrCorrupt.
type resumingReader struct {
	ctx   context.Context
	s     *Store
	name  string
	size  int64
	off   int64
	tries int
	obj   *minio.Object
}

func (r *resumingReader) Read(p []byte) (int, error) {
	for {
		n, err := r.obj.Read(p)
		r.off += int64(n)
		if err == nil || errors.Is(err, io.EOF) {
			return n, err
		}
		resp := minio.ToErrorResponse(err)
		if resp.Code == "NoSuchKey" {
			return n, fmt.Errorf("object %s is missing: %w", r.name, storage.ErrCorrupt)
		}
		if resp.Code != "" || r.ctx.Err() != nil || r.tries >= r.s.cfg.MaxRetries || r.off >= r.size {
			return n, err // an S3 error, cancelled, retried enough, or longer than the manifest says
		}
		r.tries++
		r.obj.Close()
		time.Sleep(time.Duration(r.tries) * 200 * time.Millisecond)
		opts := minio.GetObjectOptions{}
		if err := opts.SetRange(r.off, 0); err != nil {
			return n, err
		}
		obj, gerr := r.s.client.GetObject(r.ctx, r.s.cfg.Bucket, r.name, opts)
		if gerr != nil {
			return n, fmt.Errorf("resume %s at byte %d after %v: %w", r.name, r.off, err, gerr)
		}
		r.obj = obj
		if n > 0 {
			return n, nil
		}
	}
}

func (r *resumingReader) Close() error { return r.obj.Close() }

// Upload publishes the files of src under key: every file under
// <key>/files-<generation>/, then the marker naming that generation, then
// the files of older generations go. Unless replace, a key already
// published is left as it is.
func (s *Store) Upload(ctx context.Context, key, src string, replace bool) (*storage.Manifest, error) {
	if err := storage.CheckKey(key); err != nil {
		return nil, err
	}
	if !replace {
		if m, err := s.Manifest(ctx, key); err == nil {
			return m, nil
		} else if !errors.Is(err, storage.ErrNotFound) {
			return nil, err
		}
	}
	m, err := storage.ScanDir(ctx, key, src)
	if err != nil {
		return nil, err
	}
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	m.Dir = "files-" + hex.EncodeToString(rnd[:])
	if err := s.uploadFiles(ctx, key, src, m); err != nil {
		return nil, err
	}
	marker := m.Marshal()
	_, err = s.client.PutObject(ctx, s.cfg.Bucket, s.MarkerObject(key), bytes.NewReader(marker), int64(len(marker)),
		minio.PutObjectOptions{ContentType: "application/json"})
	if err != nil {
		return nil, s.explain("publish marker of "+key, err)
	}
	s.dropOtherGenerations(ctx, key, m.Dir)
	return m, nil
}

// dropOtherGenerations removes the files of key that the marker no longer
// names (an older generation, or a writer that lost a race). A reader
// still fetching them reads the marker again and retries. Failures only
// leave garbage behind, so they are ignored.
func (s *Store) dropOtherGenerations(ctx context.Context, key, keep string) {
	kd := s.keyDir(key)
	objs := make(chan minio.ObjectInfo)
	go func() {
		defer close(objs)
		for obj := range s.client.ListObjects(ctx, s.cfg.Bucket, minio.ListObjectsOptions{Prefix: kd, Recursive: true}) {
			if obj.Err != nil {
				return
			}
			rest := strings.TrimPrefix(obj.Key, kd)
			if rest == MarkerName || strings.HasPrefix(rest, keep+"/") {
				continue
			}
			objs <- obj
		}
	}()
	for range s.client.RemoveObjects(ctx, s.cfg.Bucket, objs, minio.RemoveObjectsOptions{}) {
	}
}

// Quarantine copies key's marker to <prefix>/.quarantine/<key>-<time>/
// and removes it, so the key is unpublished and its files stay.
func (s *Store) Quarantine(ctx context.Context, key string) (string, error) {
	if err := storage.CheckKey(key); err != nil {
		return "", err
	}
	q := s.base() + ".quarantine/" + key + "-" + time.Now().UTC().Format("20060102T150405.000000000Z") + "/" + MarkerName
	_, err := s.client.CopyObject(ctx,
		minio.CopyDestOptions{Bucket: s.cfg.Bucket, Object: q},
		minio.CopySrcOptions{Bucket: s.cfg.Bucket, Object: s.MarkerObject(key)})
	if err != nil {
		return "", s.explain("quarantine "+key, err)
	}
	if err := s.client.RemoveObject(ctx, s.cfg.Bucket, s.MarkerObject(key), minio.RemoveObjectOptions{}); err != nil {
		return "", s.explain("quarantine "+key, err)
	}
	return "s3://" + s.cfg.Bucket + "/" + q, nil
}

func (s *Store) uploadFiles(ctx context.Context, key, src string, m *storage.Manifest) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		sem      = make(chan struct{}, s.cfg.Workers)
	)
	for _, f := range m.Files {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func(f storage.File) {
			defer func() { <-sem; wg.Done() }()
			if err := s.uploadFile(ctx, key, m.Dir, filepath.Join(src, filepath.FromSlash(f.Path)), f); err != nil {
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
	return ctx.Err()
}

func (s *Store) uploadFile(ctx context.Context, key, dir, p string, f storage.File) error {
	fh, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("publish %s: %w", key, err)
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return fmt.Errorf("publish %s: %w", key, err)
	}
	if st.Size() != f.Size {
		return fmt.Errorf("publish %s: %s changed while publishing (size %d, was %d)", key, p, st.Size(), f.Size)
	}
	_, err = s.client.PutObject(ctx, s.cfg.Bucket, s.keyDir(key)+dir+"/"+f.Path, fh, f.Size, minio.PutObjectOptions{
		ContentType:  "application/octet-stream",
		UserMetadata: map[string]string{"Lair-Sha256": f.SHA256},
		// The body is not signed (UNSIGNED-PAYLOAD, as over HTTPS): over
		// plain HTTP minio-go would otherwise sign it in aws-chunked
		// streaming form, which sends an empty file with no Content-Length
		// and which some S3-compatible servers store undecoded in multipart
		// parts (gofakes3 does). Readers check every file's sha256 against
		// the manifest.
		DisableContentSha256: true,
		// Unsigned, a body the network cut short would be stored as the
		// object by some servers (versitygw does), and the marker written
		// over the truncated file: Content-MD5 makes the server refuse it.
		// Files over minio-go's part size go multipart, where the part
		// ETags listed at completion already refuse a cut part; MD5 there
		// would make minio-go upload the parts one by one (2.5x slower).
		SendContentMd5: f.Size <= singlePutMax,
	})
	if err != nil {
		return s.explain("upload "+f.Path+" of "+key, err)
	}
	return nil
}

// List returns every published key under the prefix, sorted.
func (s *Store) List(ctx context.Context) ([]string, error) {
	base := s.base()
	var keys []string
	for obj := range s.client.ListObjects(ctx, s.cfg.Bucket, minio.ListObjectsOptions{Prefix: base, Recursive: true}) {
		if obj.Err != nil {
			return nil, s.explain("list", obj.Err)
		}
		rest := strings.TrimPrefix(obj.Key, base)
		if key, ok := strings.CutSuffix(rest, "/"+MarkerName); ok && !strings.Contains(key, "/") {
			keys = append(keys, key)
		}
	}
	sort.Strings(keys)
	return keys, nil
}

// Delete removes key's marker, then its files.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := storage.CheckKey(key); err != nil {
		return err
	}
	if err := s.client.RemoveObject(ctx, s.cfg.Bucket, s.MarkerObject(key), minio.RemoveObjectOptions{}); err != nil {
		return s.explain("delete marker of "+key, err)
	}
	objs := s.client.ListObjects(ctx, s.cfg.Bucket, minio.ListObjectsOptions{Prefix: s.keyDir(key), Recursive: true})
	for r := range s.client.RemoveObjects(ctx, s.cfg.Bucket, objs, minio.RemoveObjectsOptions{}) {
		if r.Err != nil {
			return s.explain("delete "+r.ObjectName, r.Err)
		}
	}
	return nil
}

// leaseObject is <prefix>/.leases/<kind>-<id>.json: one listing by kind
// finds every lease of that kind.
func (s *Store) leaseObject(kind storage.LeaseKind, id string) string {
	return s.base() + ".leases/" + string(kind) + "-" + id + ".json"
}

// PutLease writes l as <prefix>/.leases/<kind>-<id>.json.
func (s *Store) PutLease(ctx context.Context, l *storage.Lease) error {
	b, err := json.Marshal(l)
	if err != nil {
		return err
	}
	_, err = s.client.PutObject(ctx, s.cfg.Bucket, s.leaseObject(l.Kind, l.ID), bytes.NewReader(b), int64(len(b)),
		minio.PutObjectOptions{ContentType: "application/json", SendContentMd5: true})
	if err != nil {
		return s.explain("write lease", err)
	}
	return nil
}

// Leases lists and reads the leases of kind. One deleted between the
// listing and the read is left out; one that does not parse is an error
// naming its object.
func (s *Store) Leases(ctx context.Context, kind storage.LeaseKind) ([]*storage.Lease, error) {
	prefix := s.base() + ".leases/" + string(kind) + "-"
	var names []string
	for obj := range s.client.ListObjects(ctx, s.cfg.Bucket, minio.ListObjectsOptions{Prefix: prefix}) {
		if obj.Err != nil {
			return nil, s.explain("list leases", obj.Err)
		}
		if strings.HasSuffix(obj.Key, ".json") {
			names = append(names, obj.Key)
		}
	}
	var out []*storage.Lease
	for _, name := range names {
		obj, err := s.client.GetObject(ctx, s.cfg.Bucket, name, minio.GetObjectOptions{})
		if err != nil {
			return nil, s.explain("read lease "+name, err)
		}
		b, err := io.ReadAll(obj)
		obj.Close()
		if minio.ToErrorResponse(err).Code == "NoSuchKey" {
			continue // released meanwhile
		}
		if err != nil {
			return nil, s.explain("read lease "+name, err)
		}
		var l storage.Lease
		if err := json.Unmarshal(b, &l); err != nil || l.Kind != kind || l.ID == "" {
			return nil, fmt.Errorf("store %s: lease %s is not a valid %s lease (%v): delete that object", s, name, kind, err)
		}
		out = append(out, &l)
	}
	return out, nil
}

// DeleteLease removes l's object.
func (s *Store) DeleteLease(ctx context.Context, l *storage.Lease) error {
	if err := s.client.RemoveObject(ctx, s.cfg.Bucket, s.leaseObject(l.Kind, l.ID), minio.RemoveObjectOptions{}); err != nil {
		return s.explain("delete lease", err)
	}
	return nil
}
