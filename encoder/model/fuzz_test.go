package model

import (
	"strings"
	"testing"
)

func FuzzParseRef(f *testing.F) {
	for _, s := range []string{"hf://org/name", "hf://org/name@v1", "hf://a@", "/path", "hf://../x", "hf://a/b@c/d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ref, ok, err := ParseRef(s)
		if !strings.HasPrefix(s, "hf://") {
			if ok || err != nil {
				t.Fatalf("%q: not a reference, got ok=%v err=%v", s, ok, err)
			}
			return
		}
		if err != nil {
			return
		}
		// Whatever parses must stay inside the cache when used as a path.
		if strings.Contains(ref.Repo, "..") || strings.Contains(ref.Revision, "..") || strings.HasPrefix(ref.Repo, "/") ||
			strings.HasPrefix(ref.Revision, "/") || ref.Revision == "" || strings.Count(ref.Repo, "/") > 1 {
			t.Fatalf("%q parsed to unsafe %+v", s, ref)
		}
	})
}
