// Package dirstore keeps lair artifacts in a local (or network-mounted)
// directory, with the same layout and the same marker as the S3 backend:
//
//	<root>/<key>/files/<path>
//	<root>/<key>/_COMPLETE      manifest (path, size, sha256 of every file)
//
// Publish builds the whole key directory under <root>/.tmp and renames it
// into place, so a key directory that exists is complete; readers still
// require the marker.
package dirstore
