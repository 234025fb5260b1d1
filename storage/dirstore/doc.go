// Package dirstore is lair's local artifact store: a directory (on a local
// or network file system) in storage's layout, with the session temp dirs
// and per-key build locks that let several runs share it.
//
//	<root>/<key>/_COMPLETE       manifest (path, size, sha256 of every file)
//	<root>/<key>/files/<path>    the artifact's files
//	<root>/.tmp/<session>/       temp dirs of one open store; removed on Close
//	<root>/.tmp/<session>.lock   flock held while that session is alive
//	<root>/.locks/<key>.lock     per-key build lock (flock); holds its holder
//	<root>/.store.lock           shared by sessions, exclusive for lair gc
//	<root>/.quarantine/<key>-<time>/  artifacts lair verify found damaged
//
// Publish builds the whole key directory in the session's temp area
// (files, then the marker) and renames it into place, so a key directory
// that exists is complete; readers still require the marker. Replace swaps
// the new key directory with the old one in one rename (RENAME_EXCHANGE),
// falling back on file systems without it to moving the old one aside
// first, so readers see the old artifact, the new one or (in the fallback,
// briefly) none, never a mix. Temp dirs whose session lock is free belong
// to killed runs and are removed when a store is opened. Published
// directories are 0755 and files at least 0644, so a store can be shared
// by a group.
//
// A store that exists but cannot be written (read-only file system, or no
// write permission) opens read-only, except for lair gc (Exclusive): no
// session, no temp area; the store lock is taken shared through a
// read-only descriptor when the file exists; reading works and writing
// fails with storage.ErrReadOnly, naming the store and what to do.
package dirstore
