// Package repodags only holds tests: it exports every DAG in the
// repository's dags/ folder with lair's real stage types and checks each
// manifest against its golden file and the Argo Workflows schema. It is
// apart from package argo's tests so that those build without every stage
// package.
package repodags
