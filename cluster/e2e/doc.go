// Package e2e only holds an end-to-end test, off by default because it runs
// a real DAG twice (minutes on 2 cores): with LAIR_CLUSTER_E2E=1 it builds
// the real lair binary, exports a DAG of dags/ as an Argo manifest with
// `lair export argo`, runs every task as its own `lair stage run` process
// against an S3 server on 127.0.0.1, compares every artifact with a local
// `lair run`, reruns the workflow (every step cached), and times cached
// runs on the local and the S3 store.
//
//	LAIR_CLUSTER_E2E=1 go test -v -timeout 40m ./cluster/e2e
//
// LAIR_CLUSTER_E2E_DAG picks the DAG (default dags/bm25-baseline.yaml),
// LAIR_CLUSTER_E2E_SET=NAME=VALUE,... overrides its params, LAIR_MIRROR
// names the dataset mirror (default ../shared/data/raw).
package e2e
