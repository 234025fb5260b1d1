package fsutil

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// MkdirTemp creates a temporary directory next to dst (same file system), to
// be filled and then published with PublishDir or ReplaceDir.
func MkdirTemp(dst string) (string, error) {
	dir, base := filepath.Split(filepath.Clean(dst))
	if dir == "" {
		dir = "."
	}
	tmp, err := os.MkdirTemp(dir, "."+base+tempMarker+"*")
	if err != nil {
		return "", fmt.Errorf("prepare %s: %w", dst, err)
	}
	return tmp, nil
}

// SyncTree fsyncs every regular file and directory under root.
func SyncTree(root string) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() && !d.IsDir() {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		err = f.Sync()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil && !errors.Is(err, os.ErrInvalid) && !isNotSupported(err) {
			return fmt.Errorf("sync %s: %w", p, err)
		}
		return nil
	})
}

// PublishDir makes the finished directory tmp visible as dst, atomically,
// only if dst does not exist yet: it syncs tmp's contents, renames it and
// syncs dst's parent. When dst exists, tmp is left alone and the error
// satisfies errors.Is(err, fs.ErrExist).
func PublishDir(tmp, dst string) error {
	if err := SyncTree(tmp); err != nil {
		return fmt.Errorf("publish %s: %w", dst, err)
	}
	return PublishSyncedDir(tmp, dst)
}

// PublishSyncedDir is PublishDir for a tmp whose every file and directory
// the caller has fsynced already (e.g. while writing them): it renames and
// syncs dst's parent.
func PublishSyncedDir(tmp, dst string) error {
	if err := RenameNoReplace(tmp, dst); err != nil {
		return err
	}
	return SyncDir(filepath.Dir(dst))
}

// RenameNoReplace renames tmp to dst unless dst exists (then the error
// satisfies errors.Is(err, fs.ErrExist)). It syncs nothing: the caller
// fsyncs dst's parent (SyncDir) when the rename must be durable.
func RenameNoReplace(tmp, dst string) error {
	err := unix.Renameat2(unix.AT_FDCWD, tmp, unix.AT_FDCWD, dst, unix.RENAME_NOREPLACE)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
		// No renameat2 here: check, then rename. rename(2) replaces only an
		// empty directory, and only a racing publisher could create one.
		if _, serr := os.Lstat(dst); serr == nil {
			err = unix.EEXIST
		} else {
			err = os.Rename(tmp, dst)
		}
	}
	if errors.Is(err, unix.EEXIST) || errors.Is(err, unix.ENOTEMPTY) {
		return fmt.Errorf("publish %s: %w", dst, fs.ErrExist)
	}
	if err != nil {
		return fmt.Errorf("publish %s: %w", dst, err)
	}
	return nil
}

// ReplaceDir makes the finished directory tmp visible as dst, replacing
// what dst held. With renameat2 the two are exchanged atomically, so a
// reader sees the old or the new directory, never none; without it dst is
// renamed aside first (a short window without dst). The old contents are
// removed afterwards.
func ReplaceDir(tmp, dst string) error {
	if err := SyncTree(tmp); err != nil {
		return fmt.Errorf("replace %s: %w", dst, err)
	}
	old, err := ReplaceSyncedDir(tmp, dst)
	if err != nil {
		return err
	}
	if old != "" {
		return os.RemoveAll(old)
	}
	return nil
}

// ReplaceSyncedDir is ReplaceDir for a tmp whose every file and directory
// the caller has fsynced already. It does not remove the old contents: it
// returns the directory now holding them ("" when dst did not exist), for
// the caller to remove (it may know their layout).
func ReplaceSyncedDir(tmp, dst string) (old string, err error) {
	old, err = ExchangeDir(tmp, dst)
	if err != nil {
		return old, err
	}
	return old, SyncDir(filepath.Dir(dst))
}

// ExchangeDir puts tmp in dst's place: with renameat2 the two are
// exchanged atomically, so a reader sees the old or the new directory,
// never none; without it dst is renamed aside first (a short window
// without dst). It returns the directory now holding the old contents
// ("" when dst did not exist). It syncs nothing: the caller fsyncs dst's
// parent (SyncDir) before removing the old contents.
func ExchangeDir(tmp, dst string) (old string, err error) {
	err = unix.Renameat2(unix.AT_FDCWD, tmp, unix.AT_FDCWD, dst, unix.RENAME_EXCHANGE)
	switch {
	case err == nil:
		return tmp, nil // tmp now holds the old directory
	case errors.Is(err, unix.ENOENT):
		if _, serr := os.Lstat(tmp); serr != nil {
			return "", fmt.Errorf("replace %s: %w", dst, serr)
		}
		// dst does not exist yet: an ordinary publish.
		if err := RenameNoReplace(tmp, dst); err != nil && !errors.Is(err, fs.ErrExist) {
			return "", err
		} else if err != nil {
			return ExchangeDir(tmp, dst) // created meanwhile
		}
		return "", nil
	case errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS):
		old, merr := MkdirTemp(dst)
		if merr != nil {
			return "", merr
		}
		aside := filepath.Join(old, "old")
		if err := os.Rename(dst, aside); err != nil && !errors.Is(err, fs.ErrNotExist) {
			os.Remove(old)
			return "", fmt.Errorf("replace %s: %w", dst, err)
		}
		if err := os.Rename(tmp, dst); err != nil {
			os.Rename(aside, dst) // put the old one back
			os.Remove(old)
			return "", fmt.Errorf("replace %s: %w", dst, err)
		}
		return old, nil
	default:
		return "", fmt.Errorf("replace %s: %w", dst, err)
	}
}

func isNotSupported(err error) bool {
	return errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EINVAL)
}
