package s3store_test

import (
	"context"
	"testing"

	"github.com/lair-ir/lair/storage"
	"github.com/lair-ir/lair/storage/s3store"
)

// publish is Upload without replacing.
func publish(ctx context.Context, s *s3store.Store, key, src string) (*storage.Manifest, error) {
	return s.Upload(ctx, key, src, false)
}

// fetch reads key's manifest and fetches its files into dst.
func fetch(ctx context.Context, s *s3store.Store, key, dst string) (*storage.Manifest, error) {
	m, err := s.Manifest(ctx, key)
	if err != nil {
		return nil, err
	}
	return m, s.Fetch(ctx, m, dst)
}

// fileObject names the object of file rel of key: under the published
// generation, or under "files" when key is not published.
func fileObject(t testing.TB, s *s3store.Store, key, rel string) string {
	m, err := s.Manifest(context.Background(), key)
	if err != nil {
		m = &storage.Manifest{Key: key}
	}
	return s.FileObject(m, rel)
}
