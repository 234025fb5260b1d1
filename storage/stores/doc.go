// Package stores opens the storage.Store named by --store: a plain
// directory path and file:///dir open the same local directory store
// (package dirstore); s3://bucket/prefix opens S3-compatible object storage
// (settings from the AWS environment variables, see package s3store) with a
// local directory store in front as its verified cache (storage.NewCached).
package stores
