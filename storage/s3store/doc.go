// Package s3store keeps lair artifacts in S3-compatible object storage
// (AWS S3, MinIO, Ceph RGW, GCS's S3 interoperability API, ...).
//
// A store is named by a URL s3://bucket/prefix. Settings come from the
// usual AWS environment variables: AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), AWS_REGION (or
// AWS_DEFAULT_REGION; default us-east-1), AWS_ENDPOINT_URL_S3 or
// AWS_ENDPOINT_URL (default https://s3.amazonaws.com; an http:// endpoint
// turns TLS off).
//
// Layout of artifact <key>:
//
//	<prefix>/<key>/files/<path>   every file of the artifact
//	<prefix>/<key>/_COMPLETE      the manifest (JSON: path, size, sha256 of
//	                              every file), written last
//
// Readers only trust a key whose _COMPLETE exists, and they verify every
// file they download against it, so a writer killed during an upload leaves
// no visible artifact and a damaged object is detected.
package s3store
