// Package cluster runs lair DAGs beyond one machine: one stage instance at
// a time, in its own process or container, with artifacts exchanged through
// a shared store (S3-compatible object storage or a shared directory; see
// package storage).
//
// A step (`lair stage run DAG INSTANCE --store URL`) goes in steps:
//
//  1. Load and plan the DAG exactly as `lair run` does; the instance's
//     content address (key) follows from the DAG, the parameters and the
//     stage types' versions, so every machine computes the same keys. An
//     exporter may pass the key it planned (--key): a step whose planned
//     key differs refuses to run (the image holds another DAG or lair).
//  2. Check the store (reachable, credentials, bucket): one clear error
//     before any stage runs.
//  3. If the key is already published, stop: the step is idempotent.
//  4. Fetch every input artifact (verified against its manifest) into a
//     work directory, run the stage into an empty directory, publish it
//     (files first, marker last).
//
// Package cluster/argo turns a plan into an Argo Workflows manifest whose
// tasks are such steps.
package cluster
