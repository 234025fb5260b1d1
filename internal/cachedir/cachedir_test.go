package cachedir

import (
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestDirOrder(t *testing.T) {
	wd, _ := filepath.Abs(".")
	cases := []struct {
		name, explicit, lair, xdg, home, want string
	}{
		{"flag wins", "/f", "/l", "/x", "/h", "/f"},
		{"relative flag made absolute", "rel", "/l", "/x", "/h", filepath.Join(wd, "rel")},
		{"LAIR_CACHE", "", "/l", "/x", "/h", "/l"},
		{"XDG_CACHE_HOME", "", "", "/x", "/h", "/x/lair"},
		{"relative XDG ignored", "", "", "x", "/h", "/h/.cache/lair"},
		{"home", "", "", "", "/h", "/h/.cache/lair"},
	}
	if runtime.GOOS != "linux" {
		t.Skip("the home fallback is os.UserCacheDir's, checked on Linux")
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("LAIR_CACHE", c.lair)
			t.Setenv("XDG_CACHE_HOME", c.xdg)
			t.Setenv("HOME", c.home)
			got, err := Dir(c.explicit)
			if err != nil || got != c.want {
				t.Fatalf("Dir(%q) = %q, %v; want %q", c.explicit, got, err, c.want)
			}
		})
	}
}

func TestDirNoHome(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip()
	}
	t.Setenv("LAIR_CACHE", "")
	t.Setenv("XDG_CACHE_HOME", "")
	t.Setenv("HOME", "")
	_, err := Dir("")
	if err == nil || !strings.Contains(err.Error(), "LAIR_CACHE") {
		t.Fatalf("err = %v; want one that says to set LAIR_CACHE", err)
	}
}
