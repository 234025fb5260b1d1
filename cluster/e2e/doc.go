// Package e2e holds the cluster end-to-end tests: the real lair binary
// exports a DAG as an Argo manifest (`lair export argo`), every task runs as
// its own `lair stage run` process against a real S3 server on 127.0.0.1
// (versitygw with its POSIX backend, internal/s3server), and every artifact
// in the bucket, re-hashed against its manifest, is compared with a local
// `lair run` of the same DAG; the workflow then runs again (every step
// cached) and `lair run --store s3://...` on a fresh machine finds every
// instance cached.
//
// TestEndToEnd does this with a small DAG of lair's fast stages (seconds; in
// make test). TestEndToEndDAG does it with a real DAG of dags/ (minutes):
//
//	LAIR_CLUSTER_E2E=1 go test -v -timeout 40m -run DAG ./cluster/e2e
//
// LAIR_CLUSTER_E2E_DAG picks the DAG (default dags/bm25-baseline.yaml),
// LAIR_CLUSTER_E2E_SET=NAME=VALUE,... overrides its params, LAIR_MIRROR
// names the dataset mirror (default ../shared/data/raw).
// LAIR_CLUSTER_E2E_CACHED=1 runs TestCachedRuns, which times fully cached
// runs on the local and the S3 store (bench/RESULTS.md).
package e2e
