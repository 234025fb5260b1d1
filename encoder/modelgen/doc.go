// Package modelgen generates small encoders with seeded random weights, in
// Hugging Face layout (model.onnx, config.json, tokenizer.json), so tests,
// benchmarks and the CPU quickstart exercise exactly the code path that
// pretrained models take.
//
// Architectures:
//
//   - bert: BERT-shaped. Inputs input_ids, attention_mask, token_type_ids
//     (int64 [batch, sequence]). Word + position + token-type embeddings,
//     LayerNorm, then N layers of multi-head self-attention (MatMul, Reshape,
//     Transpose, Softmax with an additive mask made from attention_mask) and
//     a GELU (erf form) feed-forward block, each followed by a residual add
//     and LayerNorm.
//   - xlmr: XLM-R-shaped. No token_type_ids input; position ids are
//     cumsum(input_ids != pad) * (input_ids != pad) + pad, as in RoBERTa, so
//     positions start at pad+1.
//   - distilbert: DistilBERT-shaped: no token_type_ids and no token-type
//     embeddings, DistilBERT's module names (transformer.layer.N.attention.q_lin, ...).
//   - static: token embeddings only: a Gather of input_ids times the
//     attention mask. Pooling happens outside the graph, in lair.
//
// By default a graph has ONNX IR version 8, opset 17, and the output
// last_hidden_state float32 [batch, sequence, hidden]. Config.Style
// writes the same function in the op patterns of real exporters instead
// (torch.onnx's TorchScript and dynamo exporters, decomposed layer norm,
// tanh GELU, a token_embeddings output, a pooler, external data for
// large weights); Variants lists the styles tests run on, and the weights
// are drawn in the same order whatever the style. Initializers carry
// the names of Hugging Face exports (embeddings.word_embeddings.weight,
// encoder.layer.N.attention.self.query.weight, ...), so onnx-gomlx based
// fine-tuning finds and writes back the weights by name. MatMul weights are
// stored [in, out], the layout MatMul applies (PyTorch keeps [out, in]).
//
// The generated tokenizer.json is a WordPiece tokenizer (BertNormalizer
// without lowercasing, BertPreTokenizer, "##" continuations, [CLS] ... [SEP]
// template; <s> ... </s> with <pad> = 1 for xlmr) whose vocabulary comes
// from a corpus (characters, then frequent words) or from built-in
// multilingual character ranges. An existing tokenizer.json can be used
// instead.
//
// Reference runs the forward pass in plain Go so tests can check ONNX
// Runtime and lair's pooling against an independent computation.
//
// Main implements the `lair model new` command.
package modelgen
