// Package clustertest holds small, fast, deterministic stage types and a
// DAG using them (a matrix fan-out, a GPU stage and a fan-in), for tests
// of the cluster packages that must not depend on lair's real stages.
package clustertest
