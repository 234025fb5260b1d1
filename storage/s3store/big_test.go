package s3store_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/lair-ir/lair/cluster/clustertest"
)

// TestMultipartUpload publishes a file above minio-go's 16 MiB multipart
// threshold and checks the stored object and the fetched copy byte for
// byte. (With streaming payload signatures gofakes3 stored multipart
// parts with their chunk headers; the manifest check caught it.)
func TestMultipartUpload(t *testing.T) {
	ctx := context.Background()
	srv := startServer(t, "lair")
	s := openStore(t, srv, "s3://lair/big", nil)
	src := t.TempDir()
	data := clustertest.Blob(5, 20<<20+3)
	if err := os.WriteFile(filepath.Join(src, "model.onnx"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := publish(ctx, s, "k", src); err != nil {
		t.Fatal(err)
	}
	obj, err := srv.Backend.HeadObject("lair", fileObject(t, s, "k", "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	if obj.Size != int64(len(data)) {
		t.Errorf("stored object has %d bytes, want %d", obj.Size, len(data))
	}
	dst := filepath.Join(t.TempDir(), "d")
	if _, err := fetch(ctx, s, "k", dst); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(dst, "model.onnx")); !bytes.Equal(got, data) {
		t.Errorf("fetched copy differs")
	}
}
