// Package argo exports a lair plan as an Argo Workflows manifest
// (argoproj.io/v1alpha1 Workflow, YAML).
//
// Export goes in steps:
//
//  1. Every stage instance of the plan becomes one task of a DAG template.
//     Task names are the instance names made DNS-1123 labels
//     ("batches[strategy=hybrid]" -> "batches-strategy-hybrid"), with a
//     short hash of the instance name appended when two names would clash
//     or a name is too long; the original name and its key travel as task
//     parameters and as pod annotations (lair.dev/instance, lair.dev/key).
//  2. A task depends on the tasks of its input instances, so matrix
//     instances without a path between them run in parallel.
//  3. Each task runs `lair stage run DAG INSTANCE --store URL --key KEY`
//     in the lair image, with the store's credentials from a Kubernetes
//     Secret, a retryStrategy with exponential backoff, and, for GPU
//     stages (StageType.Device "gpu-optional" or Options.GPUStages), a
//     request for one nvidia.com/gpu and a node selector.
//
// The manifest is validated in tests against the Argo Workflows JSON
// schema (argo-workflows v4.0.5, cluster/argo/argoschema).
package argo
