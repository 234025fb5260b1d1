package s3store_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/lair-ir/lair/cluster/clustertest"
	"github.com/lair-ir/lair/internal/s3server"
	"github.com/lair-ir/lair/storage/s3store"
)

// Throughput of Publish and Fetch against a real S3 server: versitygw
// (POSIX backend on this machine's disk) on 127.0.0.1 in its own process,
// one artifact of one file of 1 MB or 100 MB. Publish includes hashing the
// file, the upload and the marker; Fetch the marker, the download, the
// size and sha256 check and the rename.
//
//	go test -run XXX -bench Versitygw -benchtime 5x -count 3 ./storage/s3store
func BenchmarkVersitygwPublish(b *testing.B) {
	for _, size := range realSizes {
		b.Run(size.name, func(b *testing.B) {
			s, _ := realStore(b)
			src := oneFile(b, size.bytes)
			b.SetBytes(int64(size.bytes))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := publish(context.Background(), s, fmt.Sprintf("k%d", i), src); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkVersitygwFetch(b *testing.B) {
	for _, size := range realSizes {
		b.Run(size.name, func(b *testing.B) {
			s, _ := realStore(b)
			if _, err := publish(context.Background(), s, "k", oneFile(b, size.bytes)); err != nil {
				b.Fatal(err)
			}
			dst := b.TempDir()
			b.SetBytes(int64(size.bytes))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				d := filepath.Join(dst, fmt.Sprint(i))
				if _, err := fetch(context.Background(), s, "k", d); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				os.RemoveAll(d)
				b.StartTimer()
			}
		})
	}
}

var realSizes = []struct {
	name  string
	bytes int
}{
	{"1MB", 1_000_000},
	{"100MB", 100_000_000},
}

func realStore(b *testing.B) (*s3store.Store, *s3server.Server) {
	srv := s3server.Start(b, s3server.Options{Buckets: []string{"lair"}})
	cfg, err := s3store.FromEnv("s3://lair/bench", srv.Getenv())
	if err != nil {
		b.Fatal(err)
	}
	s, err := s3store.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	return s, srv
}

func oneFile(b *testing.B, size int) string {
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "blob.bin"), clustertest.Blob(1, size), 0o644); err != nil {
		b.Fatal(err)
	}
	return dir
}
