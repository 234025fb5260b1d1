// Package storage is lair's artifact store seen from outside one machine:
// one interface (Store) over content-addressed artifact directories, with
// two backends, a local directory (dirstore) and S3-compatible object
// storage (s3store), chosen by URL with Open.
//
// An artifact is a directory of files published under its content address
// (key). Publication is atomic for readers:
//
//  1. every file is written (to the store's own temporary area for a
//     directory store; under <prefix>/<key>/files/... for S3);
//  2. a marker holding the Manifest (every file's path, size and sha256)
//     is written last: <prefix>/<key>/_COMPLETE on S3, a rename into
//     place for a directory store.
//
// Readers trust only keys with a marker, so a writer killed half way leaves
// nothing visible. Fetch downloads into a temporary directory beside the
// destination, checks every file's size and sha256 against the manifest,
// and renames the directory into place.
package storage
