// Package fetch is lair's one HTTP downloader, used by the dataset
// downloads (datasets/download) and the Hugging Face Hub client
// (encoder/model). One policy for every file lair fetches:
//
//  1. Use: a file already at its destination is used only after Verify
//     says it is intact (see "Verified markers" below).
//  2. Lock: one download per destination at a time, across processes
//     (internal/fsutil lock <dst>.lock, or in Request.WorkDir); a waiter
//     logs who holds it, and gives up naming the holder when ctx ends.
//  3. Transfer: GET into <dst>.part (or in Request.WorkDir), resuming an existing part with an HTTP
//     Range request (a server that ignores Range restarts the file). A
//     connection that is not established within ConnectTimeout, a response
//     whose headers do not come within HeaderTimeout, or a body that stalls
//     for IdleTimeout is abandoned; these, network errors, truncated bodies,
//     HTTP 429 and 5xx are retried Retries times with exponential backoff
//     (Backoff, doubling, at most 30 s), each retry resuming the part file.
//     Other HTTP answers (404, 401, ...) fail at once.
//  4. Check: the part's size must match Size (when known) and its sha256
//     (computed while the bytes are written) the pinned SHA256; without a pin the hash is learned (computed and
//     returned). A mismatch removes the part and fails with a ChecksumError.
//  5. Publish: the part is fsynced and renamed to dst (fsutil.CommitFile),
//     and a verified marker is written beside it.
//
// Every final error is an *Error naming the URL, the destination file, the
// attempts made and the cause.
//
// Verified markers: <file>.verified records the sha256 of a file together
// with its size, modification time, change time and inode. Verify trusts
// the marker only while all of these are unchanged and re-hashes the file
// otherwise, so a file edited in place (even with its mtime restored: the
// change time cannot be set back) is detected and downloaded again, never
// used silently; an untouched cache costs one stat per use.
package fetch
