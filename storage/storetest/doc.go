// Package storetest checks that a storage.Store behaves as the interface
// documents: the same tests run against every backend (the local directory
// store, and S3 behind its local cache).
package storetest
