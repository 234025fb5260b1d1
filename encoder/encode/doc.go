// Package encode turns texts into embeddings with an ONNX encoder, in steps:
//
//  1. Deduplicate the texts (by SHA-256) and look them up in the embedding
//     cache: one shard per (model hash, role, prefix, max length, pooling,
//     normalize), keyed inside by the text's hash. A re-run, or another
//     dataset sharing texts, encodes nothing twice.
//  2. Order the remaining texts by length and tokenize them, chunk by
//     chunk, on all cores (tokenizer.EncodeBatch) in a producer goroutine
//     that runs ahead of the model.
//  3. Within a chunk, sort by token count and cut batches of BatchSize, so
//     each batch is padded only to its own longest text.
//  4. Run each batch through one reused ONNX Runtime session (input_ids,
//     attention_mask, and token_type_ids when the graph takes them), or,
//     with Backend "gomlx", through the same ONNX graph in onnx-gomlx on a
//     GoMLX backend chosen by package encoder/backend (pure Go on cpu, XLA
//     with a PJRT CUDA plugin on cuda; batches padded to BatchSize rows and
//     a multiple of 16 tokens so that XLA compiles few shapes). Pool the
//     token embeddings (mean under the attention mask, or CLS) and
//     L2-normalise.
//  5. Write the new vectors to the cache as one atomic segment and return
//     all vectors in input order.
//
// Stats tell how many texts came from the cache, tokens versus padded
// slots, and where the time went.
package encode
