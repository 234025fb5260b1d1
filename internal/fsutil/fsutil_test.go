package fsutil

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary act as a child process that writes or
// holds locks, so tests can kill it at arbitrary points.
func TestMain(m *testing.M) {
	switch os.Getenv("FSUTIL_CHILD") {
	case "write":
		childWrite(os.Getenv("FSUTIL_PATH"))
	case "lock":
		childLock(os.Getenv("FSUTIL_PATH"))
	}
	os.Exit(m.Run())
}

const versionSize = 1 << 20

// version is the content of version v: versionSize copies of one byte.
func version(v int) []byte { return bytes.Repeat([]byte{byte(v%250 + 1)}, versionSize) }

func childWrite(path string) {
	for v := 0; ; v++ {
		if err := WriteFile(path, version(v), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
		if v == 0 {
			fmt.Println("ready") // the parent kills only after the first version exists
		}
	}
}

func childLock(path string) {
	l, err := Acquire(context.Background(), path, LockOptions{Note: "child test holder"})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	fmt.Println("locked")
	io.Copy(io.Discard, os.Stdin) // hold until the parent closes stdin or kills us
	l.Unlock()
	os.Exit(0)
}

func child(t *testing.T, mode, path string) (*exec.Cmd, io.WriteCloser, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "FSUTIL_CHILD="+mode, "FSUTIL_PATH="+path)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line := make([]byte, 1)
	var got []byte
	for !bytes.HasSuffix(got, []byte("\n")) {
		if _, err := out.Read(line); err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("child %s: %v (stderr %q)", mode, err, stderr.String())
		}
		got = append(got, line[0])
	}
	return cmd, stdin, &stderr
}

func TestWriteFileReplacesAndSetsMode(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.json")
	if err := WriteFile(p, []byte("one"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(p, []byte("two"), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil || string(b) != "two" {
		t.Fatalf("content %q, %v; want two", b, err)
	}
	st, _ := os.Stat(p)
	if st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", st.Mode().Perm())
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("directory holds %d entries, want only a.json (no temp files)", len(ents))
	}
}

func TestWriteFileFuncFailureKeepsOld(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "plan")
	if err := WriteFile(p, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := WriteFileFunc(p, 0o644, func(w io.Writer) error {
		w.Write([]byte("half"))
		return boom
	})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), p) {
		t.Fatalf("err = %v; want boom naming %s", err, p)
	}
	if b, _ := os.ReadFile(p); string(b) != "old" {
		t.Fatalf("content %q after failed write; want old", b)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("temp file left behind: %v", ents)
	}
}

func TestWriteFileMissingDir(t *testing.T) {
	p := filepath.Join(t.TempDir(), "no", "such", "f")
	err := WriteFile(p, nil, 0o644)
	if err == nil || !strings.Contains(err.Error(), p) {
		t.Fatalf("err = %v; want an error naming %s", err, p)
	}
}

// TestKillMidWrite kills a child that rewrites a file in a loop, many
// times at random moments: the file is always one whole version.
func TestKillMidWrite(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "data")
	kills := 20
	if testing.Short() {
		kills = 5
	}
	tempsSeen := 0
	for i := range kills {
		cmd, _, stderr := child(t, "write", p)
		time.Sleep(time.Duration(rand.IntN(20000)) * time.Microsecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		if strings.TrimSpace(stderr.String()) != "" {
			t.Fatalf("child failed: %s", stderr)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("kill %d: %v", i, err)
		}
		if len(b) != versionSize || bytes.Count(b, b[:1]) != versionSize {
			t.Fatalf("kill %d: file holds %d bytes, not one whole version", i, len(b))
		}
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if e.Name() != "data" {
				if !IsTemp(e.Name()) {
					t.Fatalf("unexpected file %s", e.Name())
				}
				tempsSeen++
			}
		}
		if err := RemoveTemps(dir); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d kills, %d of them left a temp file (killed mid-write)", kills, tempsSeen)
}

func TestCopyFileIsIndependent(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	os.WriteFile(src, []byte("weights"), 0o644)
	if err := CopyFile(src, dst, 0o644); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(src, []byte("edited"), 0o644) // in place, as an editor might
	if b, _ := os.ReadFile(dst); string(b) != "weights" {
		t.Fatalf("copy changed with its source: %q", b)
	}
	if err := CopyFile(filepath.Join(dir, "missing"), dst, 0o644); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("err = %v; want one naming the missing source", err)
	}
}

func TestCommitFile(t *testing.T) {
	dir := t.TempDir()
	part, dst := filepath.Join(dir, "x.part"), filepath.Join(dir, "x")
	os.WriteFile(part, []byte("body"), 0o644)
	if err := CommitFile(part, dst); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(dst); string(b) != "body" {
		t.Fatalf("got %q", b)
	}
	if _, err := os.Stat(part); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("part still there")
	}
}

func fill(t *testing.T, dir, content string) {
	t.Helper()
	os.MkdirAll(filepath.Join(dir, "sub"), 0o755)
	if err := os.WriteFile(filepath.Join(dir, "sub", "f"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestPublishDirOnce(t *testing.T) {
	root := t.TempDir()
	dst := filepath.Join(root, "key")
	tmp, err := MkdirTemp(dst)
	if err != nil {
		t.Fatal(err)
	}
	fill(t, tmp, "first")
	if err := PublishDir(tmp, dst); err != nil {
		t.Fatal(err)
	}
	tmp2, _ := MkdirTemp(dst)
	fill(t, tmp2, "second")
	err = PublishDir(tmp2, dst)
	if !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second publish: %v; want fs.ErrExist", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "sub", "f")); string(b) != "first" {
		t.Fatalf("published content %q; want first", b)
	}
	// An empty directory at dst is not replaced either (rename(2) would).
	empty := filepath.Join(root, "empty")
	os.Mkdir(empty, 0o755)
	if err := PublishDir(tmp2, empty); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("publish over an empty dir: %v; want fs.ErrExist", err)
	}
}

func TestReplaceDir(t *testing.T) {
	root := t.TempDir()
	dst := filepath.Join(root, "key")
	tmp, _ := MkdirTemp(dst)
	fill(t, tmp, "v1")
	if err := ReplaceDir(tmp, dst); err != nil { // dst absent: a publish
		t.Fatal(err)
	}
	// Readers run all along: every read sees v1 or v2, never a missing file.
	var stop atomic.Bool
	var bad atomic.Value
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			b, err := os.ReadFile(filepath.Join(dst, "sub", "f"))
			if err != nil || (string(b) != "v1" && string(b) != "v2") {
				bad.Store(fmt.Sprintf("read %q, %v", b, err))
				return
			}
		}
	}()
	for range 50 {
		tmp, _ := MkdirTemp(dst)
		fill(t, tmp, "v2")
		if err := ReplaceDir(tmp, dst); err != nil {
			t.Fatal(err)
		}
	}
	stop.Store(true)
	wg.Wait()
	if v := bad.Load(); v != nil {
		t.Fatalf("a reader saw a missing or mixed directory: %v", v)
	}
	if ents, _ := os.ReadDir(root); len(ents) != 1 {
		t.Errorf("left behind: %v", ents)
	}
}

func TestLockExcludesGoroutines(t *testing.T) {
	p := filepath.Join(t.TempDir(), "locks", "k.lock")
	var inside, maxInside atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, err := Acquire(context.Background(), p, LockOptions{})
			if err != nil {
				t.Error(err)
				return
			}
			n := inside.Add(1)
			if n > maxInside.Load() {
				maxInside.Store(n)
			}
			time.Sleep(2 * time.Millisecond)
			inside.Add(-1)
			l.Unlock()
		}()
	}
	wg.Wait()
	if maxInside.Load() != 1 {
		t.Fatalf("%d holders at once; want 1", maxInside.Load())
	}
}

func TestSharedLocks(t *testing.T) {
	p := filepath.Join(t.TempDir(), "s.lock")
	a, err := TryAcquire(p, LockOptions{Shared: true})
	if err != nil {
		t.Fatal(err)
	}
	b, err := TryAcquire(p, LockOptions{Shared: true})
	if err != nil {
		t.Fatalf("second shared lock: %v", err)
	}
	if _, err := TryAcquire(p, LockOptions{}); !errors.Is(err, ErrLocked) {
		t.Fatalf("exclusive under shared: %v; want ErrLocked", err)
	}
	a.Unlock()
	b.Unlock()
	b.Unlock() // twice is fine
	l, err := TryAcquire(p, LockOptions{})
	if err != nil {
		t.Fatalf("exclusive after release: %v", err)
	}
	l.Unlock()
}

// TestReadOnlySharedLock: a lock file that cannot be opened for writing
// (mode 0444 here; a read-only file system alike) still takes a shared
// lock that excludes an exclusive one; ReadOnly creates nothing and
// refuses to be exclusive.
func TestReadOnlySharedLock(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "ro.lock")
	if _, err := TryAcquire(p, LockOptions{Shared: true, ReadOnly: true}); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("read-only lock on a missing file: %v; want ErrNotExist", err)
	}
	if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a read-only lock created its file: %v", err)
	}
	if _, err := TryAcquire(p, LockOptions{ReadOnly: true}); err == nil || !strings.Contains(err.Error(), "shared") {
		t.Fatalf("exclusive read-only lock: %v; want a refusal", err)
	}
	if err := os.WriteFile(p, nil, 0o444); err != nil {
		t.Fatal(err)
	}
	ro, err := TryAcquire(p, LockOptions{Shared: true, ReadOnly: true})
	if err != nil {
		t.Fatalf("read-only shared lock: %v", err)
	}
	// An exclusive taker (root may open the 0444 file for writing) waits.
	if os.Geteuid() == 0 {
		if _, err := TryAcquire(p, LockOptions{}); !errors.Is(err, ErrLocked) {
			t.Fatalf("exclusive under a read-only shared lock: %v; want ErrLocked", err)
		}
	}
	ro.Unlock()
}

// TestLockWaitNamesHolder: a waiter learns the pid, host and note of the
// holder, another process; when the holder dies the lock is free.
func TestLockWaitNamesHolder(t *testing.T) {
	p := filepath.Join(t.TempDir(), "k.lock")
	cmd, stdin, _ := child(t, "lock", p)
	defer cmd.Process.Kill()

	var seen []Holder
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := Acquire(ctx, p, LockOptions{OnWait: func(h Holder) { seen = append(seen, h) }, WaitEvery: 100 * time.Millisecond})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v; want a deadline", err)
	}
	if len(seen) < 2 {
		t.Fatalf("OnWait called %d times in 300 ms with WaitEvery 100 ms; want >= 2", len(seen))
	}
	h := seen[0]
	host, _ := os.Hostname()
	if h.PID != cmd.Process.Pid || h.Host != host || h.Note != "child test holder" || time.Since(h.Since) > time.Minute {
		t.Fatalf("holder %+v; want pid %d on %s", h, cmd.Process.Pid, host)
	}
	for _, want := range []string{p, "pid " + strconv.Itoa(cmd.Process.Pid), "child test holder"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	// Kill the holder without unlocking: the kernel frees the lock.
	stdin.Close()
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	l, err := Acquire(ctx2, p, LockOptions{})
	if err != nil {
		t.Fatalf("lock after holder died: %v", err)
	}
	if got := ReadHolder(p); got.PID != os.Getpid() {
		t.Errorf("holder now %+v; want this process", got)
	}
	l.Unlock()
	if got := ReadHolder(p); got.Known() {
		t.Errorf("holder after unlock %+v; want unknown", got)
	}
}

func TestLockFileRemovedWhileWaiting(t *testing.T) {
	// A cleaner removing the lock file must not let two holders in.
	p := filepath.Join(t.TempDir(), "k.lock")
	a, err := TryAcquire(p, LockOptions{})
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(p) // a's file is unlinked; a new file at p is free
	b, err := TryAcquire(p, LockOptions{})
	if err != nil {
		t.Fatalf("lock on the new file: %v", err)
	}
	if _, err := TryAcquire(p, LockOptions{}); !errors.Is(err, ErrLocked) {
		t.Fatalf("third lock: %v; want ErrLocked", err)
	}
	a.Unlock()
	b.Unlock()
}
