package s3server

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

func client(t *testing.T, endpoint, access, secret string, retries int) *minio.Client {
	t.Helper()
	c, err := minio.New(strings.TrimPrefix(endpoint, "http://"), &minio.Options{
		Creds: credentials.NewStaticV4(access, secret, ""), Region: Region, MaxRetries: retries,
		BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestServer puts an object through S3 and finds it as a plain file in the
// POSIX backend, lists it back, and checks that wrong credentials and a
// missing bucket are refused the way AWS refuses them.
func TestServer(t *testing.T) {
	ctx := context.Background()
	s := Start(t, Options{Buckets: []string{"bkt"}})
	c := client(t, s.Endpoint, s.AccessKey, s.SecretKey, 1)
	data := []byte("hello, versitygw\n")
	if _, err := c.PutObject(ctx, "bkt", "dir/obj.txt", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
		t.Fatalf("put: %v\n%s", err, s.Log())
	}
	got, err := os.ReadFile(filepath.Join(s.Root, "bkt", "dir", "obj.txt"))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("backend file: %q, %v", got, err)
	}
	objs, err := s.Objects("bkt", "")
	if err != nil || strings.Join(objs, ",") != "dir/obj.txt" {
		t.Fatalf("Objects = %v, %v", objs, err)
	}
	var listed []string
	for o := range c.ListObjects(ctx, "bkt", minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		listed = append(listed, o.Key)
	}
	if strings.Join(listed, ",") != "dir/obj.txt" {
		t.Fatalf("ListObjects = %v", listed)
	}

	// Wrong credentials: AWS's code for a bad secret; versitygw's own code
	// for an unknown access key (AWS says InvalidAccessKeyId). A HEAD
	// request (BucketExists) carries no error body: versitygw answers 404
	// for an unknown key there, which a client reads as "no such bucket".
	for _, tc := range []struct{ access, secret, code string }{
		{s.AccessKey, "wrong-secret", "SignatureDoesNotMatch"},
		{"nobody", "nothing-at-all", "XAdminUserNotFound"},
	} {
		bad := client(t, s.Endpoint, tc.access, tc.secret, 1)
		var err error
		for o := range bad.ListObjects(ctx, "bkt", minio.ListObjectsOptions{}) {
			err = o.Err
		}
		if code := minio.ToErrorResponse(err).Code; code != tc.code {
			t.Errorf("list with %s/%s: code %q (%v), want %s", tc.access, tc.secret, code, err, tc.code)
		}
	}
	if ok, err := c.BucketExists(ctx, "missing"); ok || err != nil {
		t.Errorf("BucketExists(missing) = %v, %v", ok, err)
	}
}

// TestProxy sends a 3 MB object through a proxy that cuts one connection
// in two after 1 MB: without retries the put fails, with retries it
// succeeds and the stored bytes are exact. A refusing proxy fails fast; a
// rate limit slows a transfer to about the set speed.
func TestProxy(t *testing.T) {
	ctx := context.Background()
	s := Start(t, Options{Buckets: []string{"bkt"}})
	p := NewProxy(t, s.Addr)
	data := make([]byte, 3<<20)
	rand.Read(data)

	p.CutEvery(1, 1<<20)
	c0 := client(t, p.Endpoint, s.AccessKey, s.SecretKey, 1)
	if _, err := c0.PutObject(ctx, "bkt", "x", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{DisableMultipart: true}); err == nil {
		t.Fatal("put through a proxy that cuts every connection succeeded")
	}
	if objs, _ := s.Objects("bkt", ""); len(objs) != 0 {
		t.Fatalf("a cut put left objects: %v", objs)
	}
	_, cut, _, _ := p.Stats()
	if cut == 0 {
		t.Fatal("proxy cut nothing")
	}

	p.CutEvery(2, 1<<20) // every second connection dies
	c := client(t, p.Endpoint, s.AccessKey, s.SecretKey, 5)
	for i := 0; i < 3; i++ {
		if _, err := c.PutObject(ctx, "bkt", "x", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{DisableMultipart: true}); err != nil {
			t.Fatalf("put %d with retries: %v", i, err)
		}
	}
	got, err := os.ReadFile(filepath.Join(s.Root, "bkt", "x"))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("stored object differs after retries (%d bytes, %v)", len(got), err)
	}

	p.CutEvery(0, 0)
	p.Refuse(true)
	t0 := time.Now()
	if _, err := c0.BucketExists(ctx, "bkt"); err == nil {
		t.Fatal("refusing proxy: no error")
	}
	if d := time.Since(t0); d > 10*time.Second {
		t.Errorf("refusing proxy took %s", d)
	}
	p.Refuse(false)

	p.SetRate(1 << 20)
	c2 := client(t, p.Endpoint, s.AccessKey, s.SecretKey, 1)
	t0 = time.Now()
	obj, err := c2.GetObject(ctx, "bkt", "x", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, obj)
	if err != nil || n != int64(len(data)) {
		t.Fatalf("get: %d bytes, %v", n, err)
	}
	if d := time.Since(t0); d < 2*time.Second {
		t.Errorf("3 MB at 1 MB/s took %s, want about 3s", d)
	}
}
