// Package encoder is the root of lair's encoder packages; it holds no code.
// A text goes through them like this:
//
//   - model: open a model folder in Hugging Face layout (tokenizer.json,
//     config.json, model.onnx or onnx/model.onnx) from a path or download
//     one from the Hub (hf://org/name@revision, resumable, sha256-checked),
//     and check it: inputs, last_hidden_state output, vocabulary size.
//   - tokenizer: a pure-Go implementation of tokenizer.json (WordPiece,
//     Unigram, BPE) producing input_ids, attention_mask, token_type_ids.
//   - ort: ONNX Runtime sessions (one process-wide runtime environment,
//     CPU or CUDA), fed padded int64 batches, returning token embeddings.
//   - encode: the encode pipeline: deduplicate, look up the embedding cache,
//     tokenize on all cores ahead of the model, batch by token length, run
//     ONNX Runtime, pool (mean or CLS), normalise, cache.
//   - onnxpb: a hand-written reader/writer of the ONNX protobuf format
//     (no generated code: onnx-gomlx already registers onnx.proto).
//   - modelgen: random-weight BERT-, XLM-R-shaped and static encoders with
//     their own tokenizer.json, for tests, benchmarks and offline runs
//     (`lair model new`), plus a plain-Go reference forward pass.
//   - tiny and train: the from-scratch model and GoMLX fine-tuning.
package encoder
