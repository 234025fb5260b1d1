// Package argoschema validates Argo Workflow manifests against the JSON
// schema of Argo Workflows v4.0.5, embedded gzipped (see SCHEMA.md for its
// origin and checksum). No Argo Go code is imported.
package argoschema
