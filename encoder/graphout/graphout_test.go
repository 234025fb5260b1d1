package graphout_test

import (
	"strings"
	"testing"

	"github.com/lair-ir/lair/encoder/graphout"
)

// TestEmbeddingOutput is the one output-name rule that loading, encoding
// and training share.
func TestEmbeddingOutput(t *testing.T) {
	f3 := func(name string) graphout.Output {
		return graphout.Output{Name: name, Type: "float32", Float: true, Rank: 3}
	}
	cases := []struct {
		name string
		outs []graphout.Output
		want string // output name, or a part of the error
		err  bool
	}{
		{"hf automodel", []graphout.Output{f3("last_hidden_state"), {Name: "pooler_output", Float: true, Rank: 2}}, "last_hidden_state", false},
		{"sentence-transformers", []graphout.Output{{Name: "sentence_embedding", Float: true, Rank: 2}, f3("token_embeddings")}, "token_embeddings", false},
		{"both: last_hidden_state first", []graphout.Output{f3("token_embeddings"), f3("last_hidden_state")}, "last_hidden_state", false},
		{"unknown rank", []graphout.Output{{Name: "last_hidden_state", Float: true, Rank: -1}}, "last_hidden_state", false},
		{"sequence classification", []graphout.Output{{Name: "logits", Float: true, Rank: 2}}, "the graph gives logits (outputs: logits)", true},
		{"task hint", []graphout.Output{{Name: "logits", Float: true, Rank: 2}}, "not ...ForSequenceClassification", true},
		{"task hint optimum", []graphout.Output{{Name: "start_logits"}, {Name: "end_logits"}}, "--task feature-extraction", true},
		{"pooled only", []graphout.Output{{Name: "sentence_embedding", Float: true, Rank: 2}}, "lair needs the per-token output last_hidden_state or token_embeddings", true},
		{"other names", []graphout.Output{f3("output_0")}, "no output named last_hidden_state or token_embeddings [batch, sequence, hidden] float32 (outputs: output_0)", true},
		{"wrong type", []graphout.Output{{Name: "last_hidden_state", Type: "float16", Rank: 3}}, "output last_hidden_state is float16 of rank 3, want float32", true},
		{"wrong rank", []graphout.Output{{Name: "token_embeddings", Type: "float32", Float: true, Rank: 2}}, "rank 2", true},
	}
	for _, c := range cases {
		got, err := graphout.Pick("m/model.onnx", c.outs)
		switch {
		case c.err && (err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "m/model.onnx")):
			t.Errorf("%s: error %v, want it to mention %q and the file", c.name, err, c.want)
		case !c.err && (err != nil || got != c.want):
			t.Errorf("%s: got %q, %v; want %q", c.name, got, err, c.want)
		}
	}
}
