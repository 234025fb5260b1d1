// Package pipeline is lair's declarative DAG engine.
//
// A DAG file (YAML) names stages. Each stage uses a registered StageType,
// passes it parameters (`with`), takes the artifacts of other stages
// (`needs`) and may sweep parameters (`matrix`), which expands it into one
// instance per combination. Running a DAG goes in steps:
//
//  1. Parse the file (Parse), keeping line and column for every field.
//  2. Validate it against the Registry (Load): types, parameters, needs,
//     cycles, artifact kinds, matrices. Every problem is collected into an
//     ErrorList sorted by line, each Error naming file, line, stage and
//     field.
//  3. Plan (Load returns a *Plan): expand matrices into instances, fan out
//     over upstream matrix instances (joining on shared matrix keys) or fan
//     in through Many input slots, resolve parameters, and compute each
//     instance's content address with KeyOf from its type, version,
//     parameters and input keys.
//  4. Execute in topological order on a bounded pool (Execute); an
//     instance whose key is already in the store (a storage.Store) is
//     reused, any other runs into a session temp dir that the store
//     publishes atomically (Replace for --force). A failure skips the
//     failed instance's descendants only; a panicking stage is a failed
//     instance; cancelling the context stops the run cleanly.
//     RunOptions.Only restricts a run to one instance whose inputs come from
//     the store: `lair stage run`, a cluster step, is this same executor.
//  5. Record the run (RunOptions.RunsDir): runs/<id>/manifest.json
//     (Manifest), one symlink per instance into the store, runs/latest.
//
// The stage sees a StageContext: its instance name and key, parameters,
// input artifact directories, an empty output directory, the run
// environment (Env: mirror, cache directory, threads, GoMLX backend), a
// logger and a progress reporter. Rerun re-executes stored instances and
// compares outputs (lair verify --rerun). The store itself lives in package
// storage; pipeline depends on it, not the other way round.
package pipeline
