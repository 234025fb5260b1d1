package fetch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lair-ir/lair/internal/fsutil"
)

func TestMain(m *testing.M) {
	if u := os.Getenv("FETCH_CHILD_URL"); u != "" {
		c := &Client{IdleTimeout: time.Hour}
		_, err := c.Get(context.Background(), Request{URL: u, Dst: os.Getenv("FETCH_CHILD_DST")})
		fmt.Fprintln(os.Stderr, "child finished:", err)
		os.Exit(3)
	}
	os.Exit(m.Run())
}

// TestKilledDownloadResumes: a process killed mid-download leaves no file
// under the final name, only a part file, and the next Get resumes it.
func TestKilledDownloadResumes(t *testing.T) {
	s := &server{data: body(400_000), stallAt: 150_000}
	u := start(t, s)
	dst := filepath.Join(t.TempDir(), "f")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "FETCH_CHILD_URL="+u, "FETCH_CHILD_DST="+dst)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if st, err := os.Stat(dst + ".part"); err == nil && st.Size() == 150_000 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("the child never wrote its part file")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if _, err := os.Stat(dst); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a killed download left %s (%v)", dst, err)
	}
	if _, err := fast().Get(context.Background(), Request{URL: u, Dst: dst, SHA256: hexsum(s.data)}); err != nil {
		t.Fatal(err)
	}
	if s.ranges.Load() != 1 {
		t.Errorf("%d range requests; want 1 (resumed from the killed process's part)", s.ranges.Load())
	}
}

// TestLockWaitNamesHolder: a download waiting for another holder of the
// file's lock says who holds it when it gives up.
func TestLockWaitNamesHolder(t *testing.T) {
	dst := filepath.Join(t.TempDir(), "f")
	l, err := fsutil.Acquire(context.Background(), dst+".lock", fsutil.LockOptions{Note: "downloading elsewhere"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = fast().Get(ctx, Request{URL: "http://127.0.0.1:1/x", Dst: dst})
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", os.Getpid())) || !strings.Contains(err.Error(), "downloading elsewhere") {
		t.Fatalf("err = %v; want it to name the holder", err)
	}
}
