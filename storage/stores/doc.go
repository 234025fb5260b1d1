// Package stores opens a storage.Backend from the URL given to --store:
// s3://bucket/prefix selects S3-compatible object storage (settings from
// the AWS environment variables, see package s3store); file:///path or a
// plain path selects a local directory.
package stores
