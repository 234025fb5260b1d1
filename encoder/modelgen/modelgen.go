package modelgen

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/lair-ir/lair/encoder/onnxpb"
)

// Architectures modelgen can generate.
const (
	ArchBERT   = "bert"   // BERT-shaped encoder: word + position + token-type embeddings
	ArchXLMR   = "xlmr"   // XLM-R-shaped encoder: no token_type_ids, RoBERTa position ids
	ArchStatic = "static" // token embeddings only (pooling happens in lair)
	// ArchDistilBERT is DistilBERT-shaped: no token_type_ids, no token-type
	// embeddings, DistilBERT's module names (transformer.layer.N.attention.q_lin, ...).
	ArchDistilBERT = "distilbert"
)

// Architectures lists the accepted values of Config.Arch.
var Architectures = []string{ArchBERT, ArchXLMR, ArchStatic, ArchDistilBERT}

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

	// Style is how the graph is written (lair's compact graph, or the op
	// patterns of an exporter such as torch.onnx); see Style.
	Style Style
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
	c.Style.defaults()
}

func (c *Config) validate() error {
	switch c.Arch {
	case ArchBERT, ArchXLMR, ArchStatic, ArchDistilBERT:
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
	return c.Style.validate()
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
	if err := onnxpb.WriteModel(filepath.Join(dir, "model.onnx"), m, onnxpb.WriteOptions{ExternalThreshold: c.Style.ExternalThreshold}); err != nil {
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
			"config": genConfig{Arch: c.Arch, Layers: c.Layers, Hidden: c.Hidden, Heads: c.Heads, Intermediate: c.Intermediate,
				MaxPositions: c.MaxPositions, Seed: c.Seed, VocabSize: vocabSize, PadID: padID, Style: c.Style},
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
	case ArchDistilBERT:
		cfg["architectures"] = []string{"DistilBertModel"}
		cfg["model_type"] = "distilbert"
		cfg["max_position_embeddings"] = c.MaxPositions
		cfg["dim"], cfg["n_layers"], cfg["n_heads"], cfg["hidden_dim"] = c.Hidden, c.Layers, c.Heads, c.Intermediate
		cfg["activation"] = "gelu"
		cfg["dropout"], cfg["attention_dropout"] = 0.1, 0.1
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
		if c.Style.GELU == "tanh" {
			cfg["hidden_act"], cfg["activation"] = "gelu_new", "gelu_new"
		}
		cfg["hidden_dropout_prob"] = 0.1
		cfg["attention_probs_dropout_prob"] = 0.1
		cfg["position_embedding_type"] = "absolute"
	}
	return cfg
}

// genConfig is the generator's configuration as config.json's lair.config
// records it: enough to rebuild the graph (see LoadReference).
type genConfig struct {
	Arch         string `json:"arch"`
	Layers       int    `json:"layers"`
	Hidden       int    `json:"hidden"`
	Heads        int    `json:"heads"`
	Intermediate int    `json:"intermediate"`
	MaxPositions int    `json:"max_positions"`
	Seed         uint64 `json:"seed"`
	VocabSize    int    `json:"vocab_size"`
	PadID        int    `json:"pad_id"`
	Style        Style  `json:"style"`
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
