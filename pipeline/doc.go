// Package pipeline is lair's declarative DAG engine.
//
// A DAG file (YAML) names stages. Each stage uses a registered StageType,
// passes it parameters (`with`), takes the artifacts of other stages
// (`needs`) and may sweep parameters (`matrix`), which expands it into one
// instance per combination. Running a DAG goes in steps:
//
//  1. Parse the file, keeping line numbers for every field.
//  2. Validate it against the Registry: types, parameters, needs, cycles,
//     artifact kinds; every error names file, line, stage and field.
//  3. Plan: expand matrices into instances, resolve parameters, and compute
//     each instance's content address from its type, version, parameters
//     and input keys.
//  4. Execute in topological order on a bounded pool; a stage whose key is
//     already in the Store is reused, any other runs into a temporary
//     directory that is published atomically.
//  5. Record the run: runs/<id>/manifest.json and links to the artifacts.
package pipeline
