// Package onnxpb reads and writes ONNX model files (the ModelProto protobuf
// message of onnx.proto) without generated protobuf code.
//
// Why hand-written: lair links github.com/gomlx/onnx-gomlx for fine-tuning,
// and that module already registers "onnx-ml.proto" in the global protobuf
// registry. A second set of generated types for the same file would panic at
// init. This package therefore encodes and decodes the wire format directly
// with google.golang.org/protobuf/encoding/protowire, covering the subset of
// ONNX that lair's generated encoders use:
//
//   - ModelProto: ir_version, opset_import, producer, doc string, graph,
//     metadata_props;
//   - GraphProto: nodes, initializers, inputs, outputs, value_info;
//   - NodeProto with attributes of kind float, int, string, tensor, floats,
//     ints and strings;
//   - TensorProto with dims, data_type, raw_data, float_data, int32_data and
//     int64_data and external_data (ReadFile and LoadExternalData read
//     external data into Raw; WriteModel moves large tensors into a data
//     file when the weights would exceed protobuf's 2 GB limit);
//   - ValueInfoProto with tensor types and fixed or symbolic dimensions.
//
// Unknown fields are skipped when reading, so real exported models (for
// example from Hugging Face Optimum) can be inspected with Decode: listing
// inputs, outputs and initializers is what lair's model checks need.
// Encode(Decode(b)) keeps every field listed above; fields outside the
// subset are dropped. ReplaceInitializerData is the exception that keeps
// everything: it rewrites only the values of named initializers in a
// serialized model, byte for byte in place, so fine-tuned weights can be
// written back into any exporter's file without losing what this package
// does not model.
package onnxpb
