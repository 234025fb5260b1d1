// Package localrun executes an Argo Workflow manifest written by package
// argo on one machine, the way Argo would schedule it: every DAG task
// becomes one process running its container's command, tasks start when
// their dependencies have succeeded, at most N at a time. Template and
// workflow parameters are substituted as Argo does. It exists to test
// exported manifests without a cluster; it knows only what Export writes
// (container templates, dependencies, {{inputs.parameters.X}} and
// {{workflow.parameters.X}}), and no retries.
package localrun
