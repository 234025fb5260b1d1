package cli

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/lair-ir/lair/storage"
)

// withHint adds what to do to errors of the file system under the store
// or the cache (disk full, read-only), which name the path but not the
// remedy.
func withHint(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, storage.ErrReadOnly):
		return err // says what to do already
	case errors.Is(err, syscall.ENOSPC):
		return fmt.Errorf("%w: the disk is full: free space on that file system, or point --store (and --cache) at another one", err)
	case errors.Is(err, syscall.EROFS):
		return fmt.Errorf("%w: the file system is read-only: remount it read-write, or pass --store with a writable directory", err)
	}
	return err
}
