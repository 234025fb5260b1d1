// Package model opens encoders stored in Hugging Face layout: a folder with
// tokenizer.json, config.json and model.onnx (or onnx/model.onnx), from a
// local path or from the Hugging Face Hub (`hf://org/name[@revision]`).
//
// Open checks what lair relies on before any text is encoded: the three
// files exist and parse, the ONNX graph takes input_ids (plus optionally
// attention_mask and token_type_ids) and gives last_hidden_state or
// token_embeddings (the one rule of package graphout), and the
// tokenizer cannot produce an id beyond the model's embedding table. Every
// failure names the file and says what to do.
//
// Hub downloads (Fetch) go to <cache>/models/<org>--<name>/: files are
// resumed with HTTP Range requests, verified against the SHA-256 the hub
// announces for LFS files (X-Linked-Etag), and moved into place atomically.
package model

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/lair-ir/lair/encoder/graphout"
	"github.com/lair-ir/lair/encoder/onnxpb"
	"github.com/lair-ir/lair/encoder/tokenizer"
	"github.com/lair-ir/lair/internal/fsutil"
)

// File names of a model folder.
const (
	TokenizerFile = "tokenizer.json"
	ConfigFile    = "config.json"
	ONNXFile      = "model.onnx"
	ONNXSubFile   = "onnx/model.onnx"
)

// Config is the part of config.json lair reads.
type Config struct {
	ModelType     string   `json:"model_type"`
	Architectures []string `json:"architectures"`
	HiddenSize    int      `json:"hidden_size"`
	EmbeddingSize int      `json:"embedding_size"` // ALBERT, ELECTRA: embeddings narrower than hidden_size
	VocabSize     int      `json:"vocab_size"`
	PadTokenID    *int     `json:"pad_token_id"`
	MaxPositions  int      `json:"max_position_embeddings"`
}

// Model is an opened model folder.
type Model struct {
	Dir           string
	ONNXPath      string
	TokenizerPath string
	ConfigPath    string
	Config        Config
	// Hash is the SHA-256 of config.json, tokenizer.json and the ONNX file
	// (hex); it keys embedding caches and names the model in artifacts.
	Hash string
	// Inputs are the graph's input names; HasTypeIDs says whether
	// token_type_ids is among them.
	Inputs     []string
	HasTypeIDs bool
	// Output is the graph output token embeddings are read from (see
	// graphout.Pick).
	Output string
	// ExternalFiles are the external data files the graph keeps weights
	// in (relative to the ONNX file's folder; models over 2 GB).
	ExternalFiles []string
	// EmbeddingRows is the number of rows of the token embedding table
	// (-1 when it could not be found in the graph).
	EmbeddingRows int64
	// EmbeddingWidth is the width of that table (-1 when unknown); it is
	// the hidden size of encoders that do not project their embeddings.
	EmbeddingWidth int64
	// OutputWidth is the last dimension of the graph's output when the
	// graph states it (-1 when symbolic).
	OutputWidth int64
	// VocabSize is the tokenizer's vocabulary size (largest id + 1).
	VocabSize int
	// PadID is the id padded positions get.
	PadID int64
	// MaxLength is the longest input the position embeddings allow (0 when unknown).
	MaxLength int
}

// Open opens and checks the model folder dir.
func Open(dir string) (*Model, error) {
	m := &Model{Dir: dir, TokenizerPath: filepath.Join(dir, TokenizerFile), ConfigPath: filepath.Join(dir, ConfigFile)}
	for _, p := range []string{filepath.Join(dir, ONNXFile), filepath.Join(dir, ONNXSubFile)} {
		if _, err := os.Stat(p); err == nil {
			m.ONNXPath = p
			break
		}
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("model %s: not a directory (want a Hugging Face layout folder with %s, %s and %s)", dir, TokenizerFile, ConfigFile, ONNXFile)
	}
	var missing []string
	if m.ONNXPath == "" {
		missing = append(missing, ONNXFile+" (or "+ONNXSubFile+")")
	}
	for _, p := range []string{m.TokenizerPath, m.ConfigPath} {
		if _, err := os.Stat(p); err != nil {
			missing = append(missing, filepath.Base(p))
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("model %s: missing %s; a model folder holds tokenizer.json, config.json and model.onnx (export one with optimum-cli export onnx, or generate one with `lair model new`)", dir, strings.Join(missing, ", "))
	}
	b, err := os.ReadFile(m.ConfigPath)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &m.Config); err != nil {
		return nil, fmt.Errorf("model %s: %w", m.ConfigPath, err)
	}
	tok, err := tokenizer.FromFile(m.TokenizerPath)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", dir, err)
	}
	m.VocabSize = tok.VocabSize()
	if err := m.inspectGraph(); err != nil {
		return nil, err
	}
	if m.EmbeddingRows > 0 && int64(m.VocabSize) > m.EmbeddingRows {
		return nil, fmt.Errorf("model %s: %s can produce ids up to %d but the embedding table in %s has %d rows: the tokenizer does not belong to this model",
			dir, TokenizerFile, m.VocabSize-1, filepath.Base(m.ONNXPath), m.EmbeddingRows)
	}
	if err := m.checkConfig(); err != nil {
		return nil, err
	}
	if m.EmbeddingRows < 0 && m.Config.VocabSize > 0 && m.VocabSize > m.Config.VocabSize {
		return nil, fmt.Errorf("model %s: %s has %d tokens but config.json says vocab_size %d: the tokenizer does not belong to this model",
			dir, TokenizerFile, m.VocabSize, m.Config.VocabSize)
	}
	switch {
	case m.Config.PadTokenID != nil:
		m.PadID = int64(*m.Config.PadTokenID)
	default:
		for _, t := range []string{"[PAD]", "<pad>"} {
			if id, ok := tok.TokenToID(t); ok {
				m.PadID = id
				break
			}
		}
	}
	if m.Config.MaxPositions > 0 {
		m.MaxLength = m.Config.MaxPositions
		if strings.Contains(m.Config.ModelType, "roberta") {
			m.MaxLength -= int(m.PadID) + 1 // RoBERTa positions start after the padding index
		}
	}
	hashed := []string{m.ConfigPath, m.TokenizerPath, m.ONNXPath}
	for _, f := range m.ExternalFiles {
		hashed = append(hashed, filepath.Join(filepath.Dir(m.ONNXPath), f))
	}
	if m.Hash, err = hashFiles(hashed...); err != nil {
		return nil, fmt.Errorf("model %s: %w", dir, err)
	}
	return m, nil
}

// checkConfig compares config.json's vocab_size and hidden_size with what
// the graph states: a config that contradicts its graph is an error, not a
// guess of which one is right.
func (m *Model) checkConfig() error {
	onnx := filepath.Base(m.ONNXPath)
	if c := int64(m.Config.VocabSize); c > 0 && m.EmbeddingRows > 0 && c != m.EmbeddingRows {
		return fmt.Errorf("model %s: config.json says vocab_size %d but the token embedding table in %s has %d rows: fix vocab_size in %s (or use the config that belongs to this graph)",
			m.Dir, c, onnx, m.EmbeddingRows, m.ConfigPath)
	}
	if c := int64(m.Config.HiddenSize); c > 0 {
		if m.OutputWidth > 0 && c != m.OutputWidth {
			return fmt.Errorf("model %s: config.json says hidden_size %d but the output of %s is %d wide: fix hidden_size in %s (or use the config that belongs to this graph)",
				m.Dir, c, onnx, m.OutputWidth, m.ConfigPath)
		}
		field := "hidden_size"
		if m.Config.EmbeddingSize > 0 {
			field, c = "embedding_size", int64(m.Config.EmbeddingSize)
		}
		if m.OutputWidth < 0 && m.EmbeddingWidth > 0 && c != m.EmbeddingWidth {
			return fmt.Errorf("model %s: config.json says %s %d but the token embedding table in %s is %d wide: fix %s in %s (or use the config that belongs to this graph)",
				m.Dir, field, c, onnx, m.EmbeddingWidth, field, m.ConfigPath)
		}
	}
	return nil
}

// inspectGraph reads the graph structure (no weights): inputs, output, and
// the token embedding table (the initializer a Gather indexes with input_ids).
func (m *Model) inspectGraph() error {
	b, err := os.ReadFile(m.ONNXPath)
	if err != nil {
		return err
	}
	g, err := onnxpb.DecodeStructure(b)
	if err != nil {
		return fmt.Errorf("model %s: not a valid ONNX file: %w", m.ONNXPath, err)
	}
	inits := map[string]*onnxpb.Tensor{}
	for i := range g.Graph.Initializers {
		t := &g.Graph.Initializers[i]
		inits[t.Name] = t
	}
	haveIDs := false
	for _, in := range g.Graph.Inputs {
		if _, isInit := inits[in.Name]; isInit {
			continue // old exporters list initializers as inputs too
		}
		switch in.Name {
		case "input_ids":
			haveIDs = true
		case "attention_mask":
		case "token_type_ids":
			m.HasTypeIDs = true
		default:
			return fmt.Errorf("model %s: unexpected graph input %q; lair feeds input_ids, attention_mask and token_type_ids", m.ONNXPath, in.Name)
		}
		if in.ElemType != onnxpb.Int64 {
			return fmt.Errorf("model %s: input %s has type %s, want int64", m.ONNXPath, in.Name, in.ElemType)
		}
		m.Inputs = append(m.Inputs, in.Name)
	}
	if !haveIDs {
		return fmt.Errorf("model %s: the graph has no input_ids input (inputs: %v); is this a text encoder?", m.ONNXPath, m.Inputs)
	}
	var outs []graphout.Output
	for _, o := range g.Graph.Outputs {
		rank := -1
		if o.Shape != nil {
			rank = len(o.Shape)
		}
		outs = append(outs, graphout.Output{Name: o.Name, Type: o.ElemType.String(), Float: o.ElemType == onnxpb.Float, Rank: rank})
	}
	if m.Output, err = graphout.Pick(m.ONNXPath, outs); err != nil {
		return err
	}
	m.OutputWidth = -1
	for _, o := range g.Graph.Outputs {
		if o.Name == m.Output && len(o.Shape) == 3 && o.Shape[2].Param == "" && o.Shape[2].Value > 0 {
			m.OutputWidth = o.Shape[2].Value
		}
	}
	if m.ExternalFiles, err = g.Graph.ExternalFiles(); err != nil {
		return fmt.Errorf("model %s: %w", m.ONNXPath, err)
	}
	for _, f := range m.ExternalFiles {
		if _, err := os.Stat(filepath.Join(filepath.Dir(m.ONNXPath), f)); err != nil {
			return fmt.Errorf("model %s: the weights are in the external data file %s, which is missing (copy it next to %s): %w", m.ONNXPath, f, filepath.Base(m.ONNXPath), err)
		}
	}
	m.EmbeddingRows, m.EmbeddingWidth = -1, -1
	for _, n := range g.Graph.Nodes {
		if n.OpType == "Gather" && len(n.Inputs) == 2 && n.Inputs[1] == "input_ids" {
			if t, ok := inits[n.Inputs[0]]; ok && len(t.Dims) == 2 {
				m.EmbeddingRows, m.EmbeddingWidth = t.Dims[0], t.Dims[1]
			}
		}
	}
	return nil
}

// ContentHash is the SHA-256 (hex) of the files CopyTo would copy from the
// model folder dir, with their canonical names: two folders with the same
// files have the same hash wherever they are, and editing any of those
// files changes it. It does not check the model (Open does).
func ContentHash(dir string) (string, error) {
	onnx := ""
	for _, p := range []string{filepath.Join(dir, ONNXFile), filepath.Join(dir, ONNXSubFile)} {
		if fileExists(p) {
			onnx = p
			break
		}
	}
	if onnx == "" {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return "", fmt.Errorf("model %s: not a directory (want a Hugging Face layout folder with %s, %s and %s)", dir, TokenizerFile, ConfigFile, ONNXFile)
		}
		return "", fmt.Errorf("model %s: missing %s (or %s)", dir, ONNXFile, ONNXSubFile)
	}
	paths := []string{filepath.Join(dir, ConfigFile), filepath.Join(dir, TokenizerFile), onnx}
	for _, name := range []string{"tokenizer_config.json", "special_tokens_map.json"} {
		if p := filepath.Join(dir, name); fileExists(p) {
			paths = append(paths, p)
		}
	}
	// Weights kept in external data files (models over 2 GB) are content too.
	if b, err := os.ReadFile(onnx); err == nil {
		if g, err := onnxpb.DecodeStructure(b); err == nil {
			ext, _ := g.Graph.ExternalFiles()
			for _, f := range ext {
				paths = append(paths, filepath.Join(filepath.Dir(onnx), f))
			}
		}
	}
	sum, err := hashFiles(paths...)
	if err != nil {
		return "", fmt.Errorf("model %s: %w", dir, err)
	}
	return sum, nil
}

func hashFiles(paths ...string) (string, error) {
	h := sha256.New()
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return "", err
		}
		fh := sha256.New()
		_, err = io.Copy(fh, f)
		f.Close()
		if err != nil {
			return "", fmt.Errorf("hash %s: %w", p, err)
		}
		fmt.Fprintf(h, "%s %x\n", filepath.Base(p), fh.Sum(nil))
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// CopyTo copies the model's files into dir in the canonical layout
// (tokenizer.json, config.json, model.onnx at the top, plus
// tokenizer_config.json and special_tokens_map.json when present). It
// always copies bytes, never links: the copy is an immutable artifact, and
// a later edit of the source folder must not reach it.
func (m *Model) CopyTo(dir string) error {
	files := [][2]string{{m.TokenizerPath, TokenizerFile}, {m.ConfigPath, ConfigFile}, {m.ONNXPath, ONNXFile}}
	for _, f := range m.ExternalFiles { // weights of models over 2 GB
		files = append(files, [2]string{filepath.Join(filepath.Dir(m.ONNXPath), f), f})
	}
	// Optional files other tools read (transformers, transformers.js).
	for _, name := range []string{"tokenizer_config.json", "special_tokens_map.json"} {
		if src := filepath.Join(m.Dir, name); fileExists(src) {
			files = append(files, [2]string{src, name})
		}
	}
	for _, f := range files {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, f[1])), 0o755); err != nil {
			return err
		}
		if err := fsutil.CopyFile(f[0], filepath.Join(dir, f[1]), 0o644); err != nil {
			return fmt.Errorf("copy model file: %w", err)
		}
	}
	return nil
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}
