// Package cluster runs lair DAGs beyond one machine: one stage instance
// per task, in its own process or container, with artifacts exchanged
// through a shared store (S3-compatible object storage or a shared
// directory; see package storage).
//
// A task runs `lair stage run DAG INSTANCE --store URL --key KEY`, which is
// lair's one executor (pipeline.Execute) restricted to that instance
// (pipeline.RunOptions.Only): the same panic recovery, run record, logging
// and progress as `lair run`. Every machine plans the same keys from the DAG,
// the parameters and the stage types' versions; a task whose planned key
// differs from the exported one refuses to run. The store is checked
// (reachable, credentials, bucket) before any stage runs, a published key
// is not rebuilt, and inputs come from the store, verified.
//
// Package cluster/argo turns a plan into an Argo Workflows manifest whose
// tasks are such steps; the tests of this package run an exported workflow
// step by step as separate `lair stage run` processes.
package cluster
