// Package download fetches lair's pinned raw files.
//
// Every file lair reads from outside is listed in Sources with its origin
// (a raw.githubusercontent.com URL at a full commit), size and sha256. A
// Client fetches a Source in these steps:
//
//  1. If CacheDir/downloads/sha256/<hash> exists, it is the answer.
//  2. The location is the official URL, or, with a mirror, <mirror>/<dataset>/<file>
//     (the mirror is a directory, a file:// URL or an http(s) base URL).
//  3. A URL is downloaded into CacheDir/downloads/partial/<hash>.part (under
//     an flock, so concurrent lair processes fetch a file once); a transfer that breaks
//     or stalls (IdleTimeout without a byte) resumes
//     with an HTTP Range request; network errors, 429 and 5xx answers are
//     retried with exponential backoff.
//  4. The sha256 of the result is compared with the pinned one: on mismatch
//     the partial file is deleted and a ChecksumError names the URL and both
//     hashes; nothing is cached. On success the file is renamed into the cache.
//
// Bytes are reported through pipeline.Progress; every step honours context
// cancellation.
package download
