// Package doctor implements `lair doctor [DAG]`: what this machine offers
// lair, and whether a DAG's stages can run on it.
//
// The steps:
//
//  1. Gather probes the machine through Probes (the real one in the
//     command, fakes in tests): lair and Go versions, the store, cache and
//     mirror, the ONNX Runtime library (path, version, execution
//     providers), GoMLX's registered backends, the PJRT plugins found and
//     every place looked at (package encoder/backend), and the GPUs seen.
//     It also resolves each device once: cpu and cuda for GoMLX, cpu and
//     cuda for ONNX Runtime.
//  2. Write renders that as plain text.
//  3. Check walks a planned DAG and, for every stage instance that names a
//     device or backend (train/contrastive: device; encode and
//     encode/shard: backend and device), says whether this machine offers
//     it, with the reason when not.
//  4. Doctor does all three for the command (internal/cli parses its
//     flags); its error makes lair exit with code 2 when any instance
//     cannot run.
package doctor
