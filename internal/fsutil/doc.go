// Package fsutil holds lair's file-system primitives: atomic file writes,
// atomic directory publication and per-path locks that say who holds them.
// Every package that writes a file other processes may read (the artifact
// store, the download cache, Hub models, the embedding cache, checkpoints,
// batch plans) uses these instead of its own copy.
//
// Atomic file writes (WriteFile, Create + Commit, CommitFile):
//
//  1. The content goes to a temporary file in the destination's directory
//     (".<name>.tmp-<random>"), so the final rename never crosses a file system.
//  2. The temporary file is fsynced and given its final mode.
//  3. It is renamed over the destination, and the directory is fsynced so the
//     rename itself survives a power cut.
//
// A process killed at any point leaves either the old file or the new one,
// never a mix; at worst a temporary file stays behind (RemoveTemps clears them).
//
// Directories (PublishDir, ReplaceDir) are built under a temporary name,
// fsynced file by file, then renamed into place: PublishDir refuses to replace
// an existing destination (renameat2 RENAME_NOREPLACE), ReplaceDir swaps the
// two atomically (RENAME_EXCHANGE) so readers see the old or the new
// directory, never none. Both fall back to plain renames on file systems
// without renameat2.
//
// Locks (Acquire, TryAcquire) are flock(2) locks on a lock file, taken with
// polling so that a context can end the wait. The holder of an exclusive lock
// writes its pid, host, start time and a note into the lock file; a waiter's
// OnWait callback receives that Holder, so "waiting for X" can say who X is.
// flock locks are released by the kernel when a process dies, so a crashed
// holder never leaves a stale lock. Each Acquire opens the file anew, so two
// goroutines of one process exclude each other too.
package fsutil
