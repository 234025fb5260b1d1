package s3store_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/lair-ir/lair/cluster/clustertest"
)

// Throughput of Publish and Fetch against the in-process S3 server on
// 127.0.0.1 (gofakes3, in memory): what lair's side costs (hashing,
// signing, verifying, local disk), not a real object store's network.
//
//	go test -run XXX -bench . -benchtime 5x ./storage/s3store
func BenchmarkPublish(b *testing.B) {
	for _, sh := range shapes {
		b.Run(sh.name, func(b *testing.B) {
			srv := startServer(b, "lair")
			s := openStore(b, srv, "s3://lair/bench", nil)
			src := makeFiles(b, sh.files, sh.size)
			b.SetBytes(int64(sh.files * sh.size))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := publish(context.Background(), s, fmt.Sprintf("k%d", i), src); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkFetch(b *testing.B) {
	for _, sh := range shapes {
		b.Run(sh.name, func(b *testing.B) {
			srv := startServer(b, "lair")
			s := openStore(b, srv, "s3://lair/bench", nil)
			src := makeFiles(b, sh.files, sh.size)
			if _, err := publish(context.Background(), s, "k", src); err != nil {
				b.Fatal(err)
			}
			dst := b.TempDir()
			b.SetBytes(int64(sh.files * sh.size))
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

var shapes = []struct {
	name        string
	files, size int
}{
	{"4x16MiB", 4, 16 << 20},
	{"256x16KiB", 256, 16 << 10},
}

func makeFiles(b *testing.B, n, size int) string {
	dir := b.TempDir()
	for i := 0; i < n; i++ {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%03d.bin", i)), clustertest.Blob(i+1, size), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	return dir
}
