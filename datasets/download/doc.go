// Package download fetches lair's pinned raw files.
//
// Every file lair reads from outside is listed in Sources with its origin
// (a raw.githubusercontent.com URL at a full commit), size and sha256. A
// Client fetches a Source in these steps:
//
//  1. If CacheDir/downloads/sha256/<hash> exists and still has that hash, it
//     is the answer. The hash is checked on every use through a verified
//     marker (internal/fetch.Verify: re-hashed whenever the file's size,
//     mtime, ctime or inode changed); a corrupt copy is removed and fetched
//     again, never used.
//  2. The location is the official URL, or, with a mirror, <mirror>/<dataset>/<file>
//     (the mirror is a directory, a file:// URL or an http(s) base URL).
//  3. A URL is downloaded by internal/fetch, lair's one downloader, into
//     CacheDir/downloads/partial/<hash>.part under a per-file lock (so
//     concurrent lair processes fetch a file once); a transfer that breaks
//     or stalls resumes with an HTTP Range request; network errors,
//     timeouts, 429 and 5xx answers are retried with exponential backoff.
//     A directory mirror is copied under the same lock.
//  4. The sha256 of the result is compared with the pinned one: on mismatch
//     the partial file is deleted and a ChecksumError names the URL and both
//     hashes; nothing is cached. On success the file is fsynced and renamed
//     into the cache.
//
// Bytes are reported through pipeline.Progress; every step honours context
// cancellation.
package download
