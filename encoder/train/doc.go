// Package train fine-tunes ONNX text encoders in Go with GoMLX, for
// contrastive retrieval training.
//
// The pipeline, in steps:
//
//  1. LoadModel parses model.onnx with onnx-gomlx, calls DisableFusion
//     (otherwise fused attention would be trained as an extra tensor and
//     never written back), copies every initializer into a GoMLX store and
//     drops the ones onnx-gomlx's fusion detector added while parsing
//     (__fused_wQKV_*). The output it reads is graphout.Pick's
//     (last_hidden_state or token_embeddings). Float weights with more than
//     one element that the output depends on are trainable (a pooler or a
//     task head is left as exported).
//  2. Each batch (queries, positive passages, optional hard negatives) is
//     tokenized with the model's tokenizer.json, prefixed ("Query: ",
//     "Passage: "), truncated to MaxLength and padded to a bucketed length
//     (16, 32, 64, ... capped at MaxLength) so few graph shapes are
//     compiled.
//  3. The step graph runs the ONNX graph as a shared-weight dual encoder,
//     mean-pools the token states under the attention mask, L2-normalises,
//     and computes InfoNCE over scale x cosine with in-batch negatives
//     (plus the hard negatives, when enabled). Gradients are clipped by
//     global norm and applied by AdamW (decoupled weight decay on matrices
//     only) with a host-computed learning rate: linear warmup, then linear
//     decay to zero. Embedding tables indexed by input_ids are trained
//     sparsely (sparse.go, sparseview.go): the step sees only the rows the
//     batch uses, and AdamW with lazy moments updates only those rows.
//     A static model's output mask (rows times the attention mask) is left
//     out of that view, since the pooling applies the same 0/1 mask; its
//     step then takes the gradient of each text's pooled sum, which the
//     host adds into the rows of the text's tokens. Both leave losses and
//     weights bit-identical and make the step about 2.5x cheaper.
//  4. Run validates on held-out pairs every EvalEvery steps, keeps the
//     weights of the lowest validation loss, stops early after Patience
//     validations without improvement, and writes an atomic checkpoint
//     (weights, AdamW moments, best weights, log) every CheckpointEvery
//     steps. A run started again with the same checkpoint directory resumes
//     from the last checkpoint and ends with bit-identical weights.
//  5. Export writes the trained weights into a copy of the input file's
//     bytes (onnxpb.ReplaceInitializerData; external data files are copied
//     and patched) and copies tokenizer.json and config.json: the result
//     has the input's size and initializers, ONNX Runtime (the encode
//     stage) runs it as is, and it can be fine-tuned again.
//
// The GoMLX backend is the pure-Go one; NewBackend uses $GOMLX_BACKEND or
// "go:parallelism=16" (parallelism=2 on 2 cores can deadlock). Building
// with GOEXPERIMENT=simd makes it about 3x faster.
package train
