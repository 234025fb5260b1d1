// Package storage is lair's artifact store: one interface (Store) over
// published, content-addressed, immutable artifact directories, one key
// grammar (CheckKey) and one layout with a checksum manifest, whatever the
// backend.
//
// # Layout
//
// Every backend keeps artifact <key> as
//
//	<key>/_COMPLETE     the Manifest (JSON: path, size and sha256 of every
//	                    file, and the directory holding them), written last
//	<key>/<dir>/<path>  the files; <dir> is the manifest's Dir, "files"
//	                    unless the manifest names another one
//
// A key without _COMPLETE is not published: readers never see it, so a
// writer killed half way leaves nothing visible. A local directory store
// (package storage/dirstore) builds the whole key directory in its session
// temp area and renames it into place; S3 (package storage/s3store) uploads
// the files under a fresh directory name (files-<generation>) and the marker
// last, so concurrent writers and Replace never mix two generations.
//
// # Backends
//
// The local directory store is the Store every run works with: stages write
// into its session temp dirs (NewTemp), take its per-key build locks (Lock)
// and read inputs from local paths (Path). A shared backend (S3) is a
// Remote, and NewCached makes a Store of it by putting the local directory
// store in front as a verified cache, the way go-internal's ProgCache sits
// over its disk cache: Path fetches (and verifies) an artifact into the
// cache when the cache lacks it or holds another generation; Publish and
// Replace upload first and then keep the directory as the cached copy.
// Package storage/stores opens a Store from a URL: a directory path and
// file:///dir name the same local store; s3://bucket/prefix a cached S3
// store.
//
// # Sessions on several machines
//
// A run holds every key of its plan (Store.Hold) and lair gc announces
// itself (Store.Collect). On a local store the store lock does both for
// the processes of one machine. On a shared backend they exchange Leases
// through the store (<prefix>/.leases/run-<id>.json and gc-<id>.json,
// renewed while held, expiring when their holder died): each side writes
// its own lease before reading the other's, so a gc keeps the keys of
// every run on any machine, or the run waits for the gc to end.
//
// # Integrity
//
// Verify recomputes every checksum of an artifact against its manifest
// (ErrCorrupt names the first damaged file); Quarantine moves a corrupt
// artifact aside (<key> is then unpublished and rebuilt by the next run).
// Fetching from a Remote verifies every file on the way.
package storage
