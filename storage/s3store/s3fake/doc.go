// Package s3fake runs an in-memory S3-compatible server (gofakes3) on
// 127.0.0.1 for tests and benchmarks, with two additions gofakes3 lacks:
// it rejects requests signed with an access key other than the expected
// one (the signature itself is not verified), and it can call a hook
// before storing an object (to hold or kill an upload half way).
package s3fake
