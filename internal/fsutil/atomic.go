package fsutil

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// tempMarker is part of every temporary name this package creates.
const tempMarker = ".tmp-"

// File is a file being written atomically: write to it, then Commit to
// publish it under its final name, or Cleanup to drop it. Cleanup after
// Commit does nothing, so `defer f.Cleanup()` is always safe.
type File struct {
	*os.File
	path string
	perm fs.FileMode
	done bool
}

// Create starts an atomic write of path with mode perm (set exactly, the
// umask is not applied). The directory must exist.
func Create(path string, perm fs.FileMode) (*File, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+tempMarker+"*")
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	return &File{File: f, path: path, perm: perm}, nil
}

// Path is the final name the file gets on Commit.
func (f *File) Path() string { return f.path }

// Commit syncs the file, gives it its mode, renames it over the final path
// and syncs the directory.
func (f *File) Commit() error {
	if f.done {
		return fmt.Errorf("write %s: already committed or cleaned up", f.path)
	}
	f.done = true
	tmp := f.File.Name()
	err := f.File.Chmod(f.perm)
	if err == nil {
		err = f.File.Sync()
	}
	if cerr := f.File.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, f.path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", f.path, err)
	}
	if err := SyncDir(filepath.Dir(f.path)); err != nil {
		return fmt.Errorf("write %s: %w", f.path, err)
	}
	return nil
}

// Cleanup closes and removes the temporary file unless it was committed.
func (f *File) Cleanup() {
	if f.done {
		return
	}
	f.done = true
	f.File.Close()
	os.Remove(f.File.Name())
}

// WriteFile writes data to path atomically with mode perm.
func WriteFile(path string, data []byte, perm fs.FileMode) error {
	return WriteFileFunc(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// WriteFileFunc writes path atomically with what write puts into w; when
// write fails nothing changes at path.
func WriteFileFunc(path string, perm fs.FileMode, write func(w io.Writer) error) error {
	f, err := Create(path, perm)
	if err != nil {
		return err
	}
	defer f.Cleanup()
	if err := write(f); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Commit()
}

// CommitFile publishes an already written file tmp (for example a finished
// download) as dst: it syncs tmp, renames it over dst and syncs dst's
// directory. tmp must be on dst's file system.
func CommitFile(tmp, dst string) error {
	f, err := os.OpenFile(tmp, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("publish %s: %w", dst, err)
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, dst)
	}
	if err != nil {
		return fmt.Errorf("publish %s: %w", dst, err)
	}
	return SyncDir(filepath.Dir(dst))
}

// CopyFile copies src to dst atomically with mode perm. It always copies
// bytes (never links), so later changes to src do not reach dst.
func CopyFile(src, dst string, perm fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	defer in.Close()
	return WriteFileFunc(dst, perm, func(w io.Writer) error {
		_, err := io.Copy(w, in)
		return err
	})
}

// SyncDir fsyncs a directory so that renames and creations in it are durable.
func SyncDir(dir string) error {
	// A raw descriptor: os.Open would register the directory with the
	// runtime's poller first (fcntl, epoll_ctl, fcntl), costing more CPU
	// than the fsync on a fast file system.
	var fd int
	var err error
	for {
		fd, err = unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, &os.PathError{Op: "open", Path: dir, Err: err})
	}
	for {
		err = unix.Fsync(fd)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if cerr := unix.Close(fd); err == nil {
		err = cerr
	}
	// Some file systems (and some platforms) refuse fsync on directories.
	if err != nil && !isNotSupported(err) {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}

// IsTemp reports whether name (a base name) is a temporary file of this package.
func IsTemp(name string) bool {
	return strings.HasPrefix(name, ".") && strings.Contains(name, tempMarker)
}

// RemoveTemps removes leftover temporary files and directories of this
// package directly inside dir (left by killed processes). Only call it when
// no other process may be writing into dir, or under the lock that guards dir.
func RemoveTemps(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	var errs []error
	for _, e := range ents {
		if IsTemp(e.Name()) {
			errs = append(errs, os.RemoveAll(filepath.Join(dir, e.Name())))
		}
	}
	return errors.Join(errs...)
}
