package modelgen

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"

	"github.com/lair-ir/lair/encoder/onnxpb"
)

// Architectures modelgen can generate.
const (
	ArchBERT   = "bert"   // BERT-shaped encoder: word + position + token-type embeddings
	ArchXLMR   = "xlmr"   // XLM-R-shaped encoder: no token_type_ids, RoBERTa position ids
	ArchStatic = "static" // token embeddings only (pooling happens in lair)
)

// Architectures lists the accepted values of Config.Arch.
var Architectures = []string{ArchBERT, ArchXLMR, ArchStatic}

// Config describes a model to generate.
type Config struct {
	Arch         string // bert | xlmr | static
	Layers       int    // transformer layers (bert, xlmr)
	Hidden       int    // hidden (embedding) width
	Heads        int    // attention heads; Hidden must be a multiple
	Intermediate int    // feed-forward width (default 4*Hidden)
	MaxPositions int    // longest input in tokens, special tokens included (default 512)
	Seed         uint64 // weights are a pure function of Config and the vocabulary

	// The vocabulary: an existing tokenizer.json (copied into the model),
	// else one built from Corpus, else the built-in multilingual characters.
	// VocabSize > 0 caps (or pads) a built vocabulary; with Tokenizer it must
	// be 0 or at least the tokenizer's size.
	Tokenizer string
	Corpus    []string
	VocabSize int
}

// Defaults fills unset fields with the defaults of `lair model new`.
func (c *Config) Defaults() {
	if c.Arch == "" {
		c.Arch = ArchBERT
	}
	if c.Hidden == 0 {
		c.Hidden = 128
	}
	if c.Arch != ArchStatic {
		if c.Layers == 0 {
			c.Layers = 2
		}
		if c.Heads == 0 {
			c.Heads = 2
		}
		if c.Intermediate == 0 {
			c.Intermediate = 4 * c.Hidden
		}
	}
	if c.MaxPositions == 0 {
		c.MaxPositions = 512
	}
}

func (c *Config) validate() error {
	switch c.Arch {
	case ArchBERT, ArchXLMR, ArchStatic:
	default:
		return fmt.Errorf("modelgen: unknown architecture %q (want one of %v)", c.Arch, Architectures)
	}
	if c.Hidden <= 0 {
		return fmt.Errorf("modelgen: hidden must be > 0, have %d", c.Hidden)
	}
	if c.Arch != ArchStatic {
		if c.Layers <= 0 || c.Heads <= 0 || c.Intermediate <= 0 {
			return fmt.Errorf("modelgen: layers, heads and intermediate must be > 0 (have %d, %d, %d)", c.Layers, c.Heads, c.Intermediate)
		}
		if c.Hidden%c.Heads != 0 {
			return fmt.Errorf("modelgen: hidden %d is not a multiple of heads %d", c.Hidden, c.Heads)
		}
	}
	if c.MaxPositions < 4 {
		return fmt.Errorf("modelgen: max positions must be >= 4, have %d", c.MaxPositions)
	}
	return nil
}

// Layer-norm epsilons as in the Hugging Face configs of the two families.
const (
	bertEps = 1e-12
	xlmrEps = 1e-5
)

// Generate writes a model folder in Hugging Face layout into dir
// (created if needed): model.onnx, config.json and tokenizer.json.
func Generate(dir string, c Config) error {
	c.Defaults()
	if err := c.validate(); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	sp := specialsFor(c.Arch)
	var vocabSize, padID int
	if c.Tokenizer != "" {
		info, err := readTokenizerInfo(c.Tokenizer)
		if err != nil {
			return fmt.Errorf("modelgen: tokenizer: %w", err)
		}
		if c.VocabSize != 0 && c.VocabSize < info.size {
			return fmt.Errorf("modelgen: vocab size %d is smaller than the %d tokens of %s", c.VocabSize, info.size, c.Tokenizer)
		}
		vocabSize, padID = max(c.VocabSize, info.size), info.pad
		b, err := os.ReadFile(c.Tokenizer)
		if err != nil {
			return err
		}
		if err := writeAtomic(filepath.Join(dir, "tokenizer.json"), b); err != nil {
			return err
		}
	} else {
		vocab := BuildVocab(c.Arch, c.Corpus, c.VocabSize)
		tj, err := TokenizerJSON(c.Arch, vocab)
		if err != nil {
			return fmt.Errorf("modelgen: %w", err)
		}
		if err := writeAtomic(filepath.Join(dir, "tokenizer.json"), tj); err != nil {
			return err
		}
		vocabSize = len(vocab)
		for i, t := range vocab {
			if t == sp.pad {
				padID = i
			}
		}
		// tokenizer_config.json: what transformers / transformers.js read
		// besides tokenizer.json.
		tc, _ := json.MarshalIndent(map[string]any{
			"tokenizer_class": "BertTokenizer", "model_max_length": c.MaxPositions, "do_lower_case": false,
			"clean_up_tokenization_spaces": true, "cls_token": sp.cls, "sep_token": sp.sep, "pad_token": sp.pad,
			"unk_token": sp.unk, "mask_token": sp.msk,
		}, "", "  ")
		if err := writeAtomic(filepath.Join(dir, "tokenizer_config.json"), append(tc, '\n')); err != nil {
			return err
		}
	}
	m := Build(c, vocabSize, padID)
	if err := onnxpb.WriteFile(filepath.Join(dir, "model.onnx"), m); err != nil {
		return fmt.Errorf("modelgen: write model.onnx: %w", err)
	}
	cfg, err := json.MarshalIndent(hfConfig(c, vocabSize, padID), "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(filepath.Join(dir, "config.json"), append(cfg, '\n'))
}

// hfConfig returns the config.json of a generated model, with the fields
// Hugging Face's BertConfig / XLMRobertaConfig use, plus a "lair" section.
func hfConfig(c Config, vocabSize, padID int) map[string]any {
	cfg := map[string]any{
		"vocab_size":        vocabSize,
		"hidden_size":       c.Hidden,
		"pad_token_id":      padID,
		"torch_dtype":       "float32",
		"initializer_range": 0.02,
		"lair": map[string]any{
			"generator": "lair model new",
			"arch":      c.Arch,
			"seed":      c.Seed,
			"pooling":   "mean",
			"note":      "random weights (seeded); MatMul weights are stored [in, out]",
		},
	}
	switch c.Arch {
	case ArchBERT:
		cfg["architectures"] = []string{"BertModel"}
		cfg["model_type"] = "bert"
		cfg["type_vocab_size"] = 2
		cfg["layer_norm_eps"] = bertEps
		cfg["max_position_embeddings"] = c.MaxPositions
	case ArchXLMR:
		cfg["architectures"] = []string{"XLMRobertaModel"}
		cfg["model_type"] = "xlm-roberta"
		cfg["type_vocab_size"] = 1
		cfg["layer_norm_eps"] = xlmrEps
		cfg["max_position_embeddings"] = c.MaxPositions + padID + 1
		cfg["bos_token_id"] = 0
		cfg["eos_token_id"] = 2
	case ArchStatic:
		cfg["architectures"] = []string{"StaticEmbedding"}
		cfg["model_type"] = "lair-static"
		cfg["max_position_embeddings"] = c.MaxPositions
	}
	if c.Arch != ArchStatic {
		cfg["num_hidden_layers"] = c.Layers
		cfg["num_attention_heads"] = c.Heads
		cfg["intermediate_size"] = c.Intermediate
		cfg["hidden_act"] = "gelu"
		cfg["hidden_dropout_prob"] = 0.1
		cfg["attention_probs_dropout_prob"] = 0.1
		cfg["position_embedding_type"] = "absolute"
	}
	return cfg
}

// weights draws the initializers: normal(0, 0.02) matrices as in BERT's
// initialisation; biases and layer-norm parameters get small random offsets
// (instead of 0 and 1) so tests that recompute the forward pass see every
// parameter matter.
type weights struct{ rng *rand.Rand }

func (w weights) normal(n int, mean, std float64) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(mean + std*w.rng.NormFloat64())
	}
	return out
}

// Build returns the ONNX graph of c for a vocabulary of vocabSize tokens
// whose padding token is padID. Weights are drawn from c.Seed.
func Build(c Config, vocabSize, padID int) *onnxpb.Model {
	c.Defaults()
	w := weights{rand.New(rand.NewPCG(c.Seed, 0x6c616972))} // "lair"
	m := &onnxpb.Model{
		IRVersion:       8,
		Opsets:          []onnxpb.OpsetID{{Domain: "", Version: 17}},
		ProducerName:    "lair",
		ProducerVersion: "modelgen",
		DocString:       "random-weight " + c.Arch + " encoder generated by lair model new",
		Metadata: []onnxpb.StringPair{
			{Key: "lair.arch", Value: c.Arch},
			{Key: "lair.seed", Value: strconv.FormatUint(c.Seed, 10)},
		},
	}
	g := &m.Graph
	g.Name = "lair_" + c.Arch
	b := onnxpb.NewBuilder(g)
	batchSeq := []onnxpb.Dim{{Param: "batch"}, {Param: "sequence"}}
	g.Inputs = append(g.Inputs,
		onnxpb.ValueInfo{Name: "input_ids", ElemType: onnxpb.Int64, Shape: batchSeq},
		onnxpb.ValueInfo{Name: "attention_mask", ElemType: onnxpb.Int64, Shape: batchSeq})
	if c.Arch == ArchBERT {
		g.Inputs = append(g.Inputs, onnxpb.ValueInfo{Name: "token_type_ids", ElemType: onnxpb.Int64, Shape: batchSeq})
	}
	g.Outputs = []onnxpb.ValueInfo{{Name: "last_hidden_state", ElemType: onnxpb.Float,
		Shape: []onnxpb.Dim{{Param: "batch"}, {Param: "sequence"}, {Value: int64(c.Hidden)}}}}

	H := int64(c.Hidden)
	word := b.Init(onnxpb.FloatTensor("embeddings.word_embeddings.weight", []int64{int64(vocabSize), H},
		w.normal(vocabSize*c.Hidden, 0, 0.02)))
	maskF := b.Op("/mask", "Cast", []string{"attention_mask"}, onnxpb.IntAttr("to", int64(onnxpb.Float)))

	if c.Arch == ArchStatic {
		emb := b.Op("/embeddings/word_embeddings", "Gather", []string{word, "input_ids"})
		axes := b.ConstInt64("/mask/unsqueeze_axes", false, -1)
		m3 := b.Op("/mask", "Unsqueeze", []string{maskF, axes})
		g.Nodes = append(g.Nodes, onnxpb.Node{Name: "/output/Mul", OpType: "Mul",
			Inputs: []string{emb, m3}, Outputs: []string{"last_hidden_state"}})
		return m
	}

	eps := float32(bertEps)
	if c.Arch == ArchXLMR {
		eps = xlmrEps
	}
	layerNorm := func(prefix, x, name string) string {
		scale := b.Init(onnxpb.FloatTensor(name+".weight", []int64{H}, w.normal(c.Hidden, 1, 0.02)))
		bias := b.Init(onnxpb.FloatTensor(name+".bias", []int64{H}, w.normal(c.Hidden, 0, 0.02)))
		return b.Op(prefix, "LayerNormalization", []string{x, scale, bias},
			onnxpb.IntAttr("axis", -1), onnxpb.FloatAttr("epsilon", eps))
	}
	linear := func(prefix, x, name string, in, out int) string {
		wt := b.Init(onnxpb.FloatTensor(name+".weight", []int64{int64(in), int64(out)}, w.normal(in*out, 0, 0.02)))
		bias := b.Init(onnxpb.FloatTensor(name+".bias", []int64{int64(out)}, w.normal(out, 0, 0.02)))
		mm := b.Op(prefix, "MatMul", []string{x, wt})
		return b.Op(prefix, "Add", []string{bias, mm})
	}

	// Embeddings.
	x := b.Op("/embeddings/word_embeddings", "Gather", []string{word, "input_ids"})
	var posEmb string
	if c.Arch == ArchBERT {
		posEmb = b.Init(onnxpb.FloatTensor("embeddings.position_embeddings.weight", []int64{int64(c.MaxPositions), H},
			w.normal(c.MaxPositions*c.Hidden, 0, 0.02)))
		typeEmb := b.Init(onnxpb.FloatTensor("embeddings.token_type_embeddings.weight", []int64{2, H},
			w.normal(2*c.Hidden, 0, 0.02)))
		shape := b.Op("/embeddings", "Shape", []string{"input_ids"})
		one := b.ConstInt64("/embeddings/const_1", true, 1)
		zero := b.ConstInt64("/embeddings/const_0", true, 0)
		seqLen := b.Op("/embeddings", "Gather", []string{shape, one}, onnxpb.IntAttr("axis", 0))
		posIDs := b.Op("/embeddings", "Range", []string{zero, seqLen, one})
		pos := b.Op("/embeddings/position_embeddings", "Gather", []string{posEmb, posIDs})
		typ := b.Op("/embeddings/token_type_embeddings", "Gather", []string{typeEmb, "token_type_ids"})
		x = b.Op("/embeddings", "Add", []string{x, typ})
		x = b.Op("/embeddings", "Add", []string{x, pos})
	} else {
		// RoBERTa: position = cumsum(input_ids != pad) * (input_ids != pad) + pad.
		nPos := c.MaxPositions + padID + 1
		posEmb = b.Init(onnxpb.FloatTensor("embeddings.position_embeddings.weight", []int64{int64(nPos), H},
			w.normal(nPos*c.Hidden, 0, 0.02)))
		typeEmb := b.Init(onnxpb.FloatTensor("embeddings.token_type_embeddings.weight", []int64{1, H},
			w.normal(c.Hidden, 0, 0.02)))
		pad := b.ConstInt64("/embeddings/padding_idx", true, int64(padID))
		axis := b.ConstInt64("/embeddings/cumsum_axis", true, 1)
		eq := b.Op("/embeddings", "Equal", []string{"input_ids", pad})
		ne := b.Op("/embeddings", "Not", []string{eq})
		mi := b.Op("/embeddings", "Cast", []string{ne}, onnxpb.IntAttr("to", int64(onnxpb.Int64)))
		cs := b.Op("/embeddings", "CumSum", []string{mi, axis})
		inc := b.Op("/embeddings", "Mul", []string{cs, mi})
		posIDs := b.Op("/embeddings", "Add", []string{inc, pad})
		pos := b.Op("/embeddings/position_embeddings", "Gather", []string{posEmb, posIDs})
		x = b.Op("/embeddings", "Add", []string{x, typeEmb})
		x = b.Op("/embeddings", "Add", []string{x, pos})
	}
	x = layerNorm("/embeddings/LayerNorm", x, "embeddings.LayerNorm")

	// Additive attention mask [batch, 1, 1, sequence]: 0 for tokens, -10000 for padding.
	oneF := b.ConstFloat("/mask/const_1", 1)
	negF := b.ConstFloat("/mask/const_neg", -10000)
	inv := b.Op("/mask", "Sub", []string{oneF, maskF})
	add := b.Op("/mask", "Mul", []string{inv, negF})
	maskAxes := b.ConstInt64("/mask/axes", false, 1, 2)
	maskExt := b.Op("/mask", "Unsqueeze", []string{add, maskAxes})

	nh, hd := int64(c.Heads), H/int64(c.Heads)
	splitShape := b.ConstInt64("/attention/split_shape", false, 0, 0, nh, hd)
	mergeShape := b.ConstInt64("/attention/merge_shape", false, 0, 0, H)
	scale := b.ConstFloat("/attention/scale", float32(math.Sqrt(float64(hd))))
	sqrt2 := b.ConstFloat("/gelu/sqrt2", float32(math.Sqrt2))
	half := b.ConstFloat("/gelu/half", 0.5)
	oneG := b.ConstFloat("/gelu/one", 1)
	for l := 0; l < c.Layers; l++ {
		p := fmt.Sprintf("/encoder/layer.%d", l)
		n := fmt.Sprintf("encoder.layer.%d", l)
		heads := func(name string, perm ...int64) string {
			y := linear(p+"/attention/self/"+name, x, n+".attention.self."+name, c.Hidden, c.Hidden)
			y = b.Op(p+"/attention/self/"+name, "Reshape", []string{y, splitShape})
			return b.Op(p+"/attention/self/"+name, "Transpose", []string{y}, onnxpb.IntsAttr("perm", perm...))
		}
		q := heads("query", 0, 2, 1, 3)
		k := heads("key", 0, 2, 3, 1)
		v := heads("value", 0, 2, 1, 3)
		s := b.Op(p+"/attention/self", "MatMul", []string{q, k})
		s = b.Op(p+"/attention/self", "Div", []string{s, scale})
		s = b.Op(p+"/attention/self", "Add", []string{s, maskExt})
		s = b.Op(p+"/attention/self", "Softmax", []string{s}, onnxpb.IntAttr("axis", -1))
		ctx := b.Op(p+"/attention/self", "MatMul", []string{s, v})
		ctx = b.Op(p+"/attention/self", "Transpose", []string{ctx}, onnxpb.IntsAttr("perm", 0, 2, 1, 3))
		ctx = b.Op(p+"/attention/self", "Reshape", []string{ctx, mergeShape})
		o := linear(p+"/attention/output/dense", ctx, n+".attention.output.dense", c.Hidden, c.Hidden)
		o = b.Op(p+"/attention/output", "Add", []string{o, x})
		x = layerNorm(p+"/attention/output/LayerNorm", o, n+".attention.output.LayerNorm")

		h := linear(p+"/intermediate/dense", x, n+".intermediate.dense", c.Hidden, c.Intermediate)
		e := b.Op(p+"/intermediate/gelu", "Div", []string{h, sqrt2})
		e = b.Op(p+"/intermediate/gelu", "Erf", []string{e})
		e = b.Op(p+"/intermediate/gelu", "Add", []string{e, oneG})
		h = b.Op(p+"/intermediate/gelu", "Mul", []string{h, e})
		h = b.Op(p+"/intermediate/gelu", "Mul", []string{h, half})
		f := linear(p+"/output/dense", h, n+".output.dense", c.Intermediate, c.Hidden)
		f = b.Op(p+"/output", "Add", []string{f, x})
		x = layerNorm(p+"/output/LayerNorm", f, n+".output.LayerNorm")
	}
	g.Nodes = append(g.Nodes, onnxpb.Node{Name: "/output/Identity", OpType: "Identity",
		Inputs: []string{x}, Outputs: []string{"last_hidden_state"}})
	return m
}

func writeAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return errors.Join(err, os.Remove(tmp))
	}
	return nil
}
