// Package graphout is the one rule for which graph output lair reads token
// embeddings from. Loading (encoder/model), ONNX Runtime sessions
// (encoder/ort), the gomlx encode backend and fine-tuning (encoder/train)
// all call Pick, so a model that loads also encodes and trains:
//
//  1. the first of Names the graph has: last_hidden_state (Hugging Face
//     AutoModel exports), then token_embeddings (sentence-transformers);
//  2. it must be float32 of rank 3 [batch, sequence, hidden] (or of unknown
//     rank);
//  3. otherwise the error names the file and its outputs and says how to
//     export a usable graph; task-head exports (logits, start_logits, ...)
//     and pooled-only exports (sentence_embedding, pooler_output) are named
//     as such.
//
// It has no dependencies so that every one of those packages can use it.
package graphout

import (
	"fmt"
	"slices"
	"strings"
)

// Names are the graph outputs lair reads token embeddings from,
// in order of preference: last_hidden_state (Hugging Face AutoModel exports:
// optimum's feature-extraction task, torch.onnx of BertModel, XLMRobertaModel,
// DistilBertModel, ...) and token_embeddings (sentence-transformers exports).
// Loading, encoding and training all choose the output with Pick.
var Names = []string{"last_hidden_state", "token_embeddings"}

// Output describes one output of an ONNX graph for Pick.
type Output struct {
	Name  string
	Type  string // element type as the caller's library names it, for messages
	Float bool   // element type is float32
	Rank  int    // number of dimensions, -1 when the graph does not say
}

// ExportHint says how to make an ONNX file lair can use.
const ExportHint = "export the base encoder, not a task model: `optimum-cli export onnx --model NAME --task feature-extraction DIR`, " +
	"or torch.onnx.export of transformers.AutoModel.from_pretrained(NAME) (not ...ForSequenceClassification and the like) " +
	"with output_names=[\"last_hidden_state\"]"

// taskOutputs are outputs of task heads or pooled exports: a graph with
// only these lacks the per-token states lair pools itself.
var taskOutputs = []string{"logits", "start_logits", "end_logits", "pooler_output", "sentence_embedding", "sentence_embeddings"}

// Pick returns the name of the output lair reads token
// embeddings from: the first of Names the graph has, which must
// be float32 [batch, sequence, hidden]. Otherwise the error names the file
// (path), lists the outputs and says how to export a usable model.
func Pick(path string, outs []Output) (string, error) {
	for _, want := range Names {
		for _, o := range outs {
			if o.Name != want {
				continue
			}
			if !o.Float || (o.Rank != 3 && o.Rank != -1) {
				return "", fmt.Errorf("model %s: output %s is %s of rank %d, want float32 [batch, sequence, hidden]; %s", path, o.Name, o.Type, o.Rank, ExportHint)
			}
			return o.Name, nil
		}
	}
	var names, task []string
	for _, o := range outs {
		names = append(names, o.Name)
		if slices.Contains(taskOutputs, o.Name) {
			task = append(task, o.Name)
		}
	}
	list := strings.Join(names, ", ")
	if len(task) > 0 {
		return "", fmt.Errorf("model %s: the graph gives %s (outputs: %s), a task head or pooled output, but lair needs the per-token output %s [batch, sequence, hidden] float32 and pools it itself; %s",
			path, strings.Join(task, ", "), list, strings.Join(Names, " or "), ExportHint)
	}
	return "", fmt.Errorf("model %s: no output named %s [batch, sequence, hidden] float32 (outputs: %s); %s",
		path, strings.Join(Names, " or "), list, ExportHint)
}
