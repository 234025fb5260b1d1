package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"syscall"
	"testing"
)

func TestWithHint(t *testing.T) {
	full := fmt.Errorf("publish k: %w", &fs.PathError{Op: "write", Path: "/s/x", Err: syscall.ENOSPC})
	ro := fmt.Errorf("store /s: %w", &fs.PathError{Op: "open", Path: "/s/.store.lock", Err: syscall.EROFS})
	other := errors.New("boom")
	for _, tc := range []struct {
		err  error
		want string
	}{
		{full, "/s/x: no space left on device: the disk is full: free space"},
		{ro, "/s/.store.lock: read-only file system: the file system is read-only: remount"},
		{other, "boom"},
	} {
		got := withHint(tc.err)
		if !strings.Contains(got.Error(), tc.want) || !errors.Is(got, tc.err) {
			t.Errorf("withHint(%v) = %v, want it to contain %q and wrap the error", tc.err, got, tc.want)
		}
	}
	if withHint(nil) != nil {
		t.Error("withHint(nil) != nil")
	}
}
