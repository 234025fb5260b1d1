package stores_test

import (
	"testing"

	"github.com/lair-ir/lair/storage/stores"
)

func TestOpen(t *testing.T) {
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
	for url, want := range map[string]string{
		"s3://bucket/pre/fix": "s3://bucket/pre/fix",
		"file:///tmp/store":   "/tmp/store",
		"/tmp/store2":         "/tmp/store2",
		"rel/dir":             "rel/dir",
	} {
		s, err := stores.Open(url)
		if err != nil {
			t.Errorf("Open(%q): %v", url, err)
			continue
		}
		if s.String() != want {
			t.Errorf("Open(%q).String() = %q, want %q", url, s.String(), want)
		}
	}
	for _, bad := range []string{"", "gs://b/p", "file://host/x", "s3://"} {
		if _, err := stores.Open(bad); err == nil {
			t.Errorf("Open(%q): no error", bad)
		}
	}
}
