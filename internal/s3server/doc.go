// Package s3server starts a real S3-compatible server for tests: the
// versitygw gateway (github.com/versity/versitygw) with its POSIX backend,
// listening on 127.0.0.1, serving a temporary directory. Objects are plain
// files under Server.Root/<bucket>/<object key>, so a test can look at
// what a client really stored without going through any S3 client.
//
// The gateway is a separate program built once from the Go module proxy
// (`go install github.com/versity/versitygw/cmd/versitygw@v1.8.0`, about
// 2-4 minutes on 2 cores) into $LAIR_CACHE/tools/versitygw-<version>/
// (`make versitygw` does the same); $LAIR_VERSITYGW names another binary.
// Building it as its own module keeps its many dependencies (AWS SDK,
// fiber, Azure, LDAP, Kafka clients) out of lair's go.mod.
//
// Proxy is a TCP proxy that the test controls: it can refuse or cut
// connections (after a number of bytes) and slow them down, to prove that
// clients retry without corrupting the store and that a killed upload
// leaves nothing visible.
//
// When the binary is missing and cannot be built, tests skip, unless
// LAIR_REQUIRE_TOOLS=1 (set by `make test`), in which case they fail.
package s3server
