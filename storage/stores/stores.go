package stores

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/lair-ir/lair/storage"
	"github.com/lair-ir/lair/storage/dirstore"
	"github.com/lair-ir/lair/storage/s3store"
)

// Open returns the store named by rawURL. It does not contact the store;
// call Check on the result before running any stage.
func Open(rawURL string) (storage.Backend, error) {
	switch {
	case rawURL == "":
		return nil, fmt.Errorf("empty store URL: want s3://bucket/prefix, file:///dir or a directory path")
	case strings.HasPrefix(rawURL, "s3://"):
		return s3store.Open(rawURL)
	case strings.HasPrefix(rawURL, "file://"):
		u, err := url.Parse(rawURL)
		if err != nil || u.Path == "" || (u.Host != "" && u.Host != "localhost") {
			return nil, fmt.Errorf("store URL %q: want file:///absolute/dir", rawURL)
		}
		return dirstore.New(u.Path), nil
	case strings.Contains(rawURL, "://"):
		return nil, fmt.Errorf("store URL %q: unknown scheme (lair knows s3:// and file://)", rawURL)
	}
	return dirstore.New(rawURL), nil
}
