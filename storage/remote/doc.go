// Package remote lets lair's local executor (pipeline.Execute, `lair run`)
// use a shared storage.Backend such as S3: it implements pipeline.Store over
// a storage.Backend plus a local cache directory.
//
//	CACHE/objects/<key>/         local copies of artifacts (stages read these)
//	CACHE/manifests/<key>.json   the manifest each local copy was fetched under
//	CACHE/tmp/                   output directories of running stages
//	CACHE/locks/<key>.lock       per-key build locks (this machine only)
//
// Has asks the shared store. Dir compares the store's manifest (the one
// the Has just before it got, else a fresh one) with the one the local copy
// was fetched under and fetches (verified) when they differ, so an artifact
// replaced elsewhere (--force) is not read stale. Publish
// uploads files then marker, and keeps the directory as the local copy.
// Lock is per machine: two machines may build the same key at once; both
// publish the same content-addressed key and readers verify what they get.
package remote
