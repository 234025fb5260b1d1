// Package faulttest proves the artifact store under faults, through the
// real `lair` binary (built once per test run from ./cmd/lair) and real
// components only: the local directory store on real filesystems (a small
// tmpfs for disk full, a read-only mount), and S3 on a real S3 server
// (versitygw, see internal/s3server) behind a TCP proxy the tests control.
//
// The tests drive the stable surfaces (`lair run --store DIR|s3://...`,
// `lair gc`, `lair stage run`) with DAGs of lair's own fast stages
// (pairs/file, model/tiny, model/generate: milliseconds each), and check the
// stores independently of lair's code: every published key's manifest
// (_COMPLETE) is read and every file re-hashed by this package, from the
// store directory or the S3 server's POSIX backend directory.
//
// What each test shows: nothing half-written is ever visible, nothing
// finished is lost, every error names the path or URL and what to do.
//
// The long SIGKILL loop (at least 50 kills at random points of publish) is
// a benchmark-style test: LAIR_FAULT_KILLS=N go test -run TestKillLoop
// (bench/run.sh runs it).
package faulttest
