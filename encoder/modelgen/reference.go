package modelgen

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/lair-ir/lair/encoder/onnxpb"
)

// Reference runs a generated model's forward pass in plain Go, reading the
// weights from model.onnx by name. It is slow and exists to check ONNX
// Runtime (and the encode pipeline) against an independent computation.
type Reference struct {
	Arch                  string
	Layers, Heads, Hidden int
	Eps                   float64
	PadID                 int64
	GELU                  string // erf or tanh
	w                     map[string][]float32
	dims                  map[string][]int64
}

// LoadReference reads config.json and model.onnx (and its external data)
// of a generated model folder. Weights are found by their canonical (BERT
// module) names, whatever names the model's style gives them.
func LoadReference(dir string) (*Reference, error) {
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, err
	}
	var cfg struct {
		Hidden int     `json:"hidden_size"`
		Layers int     `json:"num_hidden_layers"`
		Heads  int     `json:"num_attention_heads"`
		Eps    float64 `json:"layer_norm_eps"`
		Pad    int64   `json:"pad_token_id"`
		Lair   struct {
			Arch   string     `json:"arch"`
			Config *genConfig `json:"config"`
		} `json:"lair"`
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		return nil, fmt.Errorf("%s/config.json: %w", dir, err)
	}
	m, err := onnxpb.ReadFile(filepath.Join(dir, "model.onnx"))
	if err != nil {
		return nil, err
	}
	r := &Reference{Arch: cfg.Lair.Arch, Layers: cfg.Layers, Heads: cfg.Heads, Hidden: cfg.Hidden, Eps: cfg.Eps,
		PadID: cfg.Pad, GELU: "erf", w: map[string][]float32{}, dims: map[string][]int64{}}
	fileName := map[string]string{} // initializer name -> canonical name
	transposed := false
	if gc := cfg.Lair.Config; gc != nil {
		c := Config{Arch: gc.Arch, Layers: gc.Layers, Hidden: gc.Hidden, Heads: gc.Heads, Intermediate: gc.Intermediate,
			MaxPositions: gc.MaxPositions, Seed: gc.Seed, Style: gc.Style}
		c.Defaults()
		_, names := build(c, gc.VocabSize, gc.PadID)
		for canon, file := range names {
			fileName[file] = canon
		}
		r.Arch, r.Layers, r.Heads, r.Hidden, r.PadID, r.GELU = c.Arch, c.Layers, c.Heads, c.Hidden, int64(gc.PadID), c.Style.GELU
		transposed = c.Style.Exporter == StyleDynamo
		r.Eps = bertEps
		if c.Arch == ArchXLMR {
			r.Eps = xlmrEps
		}
	}
	for i := range m.Graph.Initializers {
		t := &m.Graph.Initializers[i]
		if t.DataType != onnxpb.Float {
			continue
		}
		v, err := t.Floats()
		if err != nil {
			return nil, err
		}
		name, dims := t.Name, t.Dims
		if c, ok := fileName[name]; ok {
			name = c
		}
		if transposed && len(dims) == 2 && strings.HasSuffix(name, ".weight") && !strings.HasPrefix(name, "embeddings.") {
			// the dynamo style keeps Linear weights [out, in]
			v, dims = transpose(v, int(dims[0]), int(dims[1])), []int64{dims[1], dims[0]}
		}
		r.w[name], r.dims[name] = v, dims
	}
	return r, nil
}

func (r *Reference) get(name string) []float32 {
	v, ok := r.w[name]
	if !ok {
		panic("modelgen reference: no initializer " + name)
	}
	return v
}

// Forward returns the token states (last_hidden_state) [rows, seq,
// hidden] for a padded batch.
// typeIDs may be nil (zeros).
func (r *Reference) Forward(ids, mask, typeIDs []int64, rows, seq int) []float32 {
	H := r.Hidden
	out := make([]float32, rows*seq*H)
	word := r.get("embeddings.word_embeddings.weight")
	for b := 0; b < rows; b++ {
		x := make([][]float64, seq)
		pos := int64(0)
		if r.Arch == ArchXLMR {
			pos = r.PadID
		}
		for s := 0; s < seq; s++ {
			i := b*seq + s
			x[s] = make([]float64, H)
			for h := 0; h < H; h++ {
				x[s][h] = float64(word[int(ids[i])*H+h])
			}
			switch r.Arch {
			case ArchStatic:
				for h := range x[s] {
					x[s][h] *= float64(mask[i])
				}
			case ArchDistilBERT:
				add(x[s], r.get("embeddings.position_embeddings.weight")[s*H:])
			case ArchBERT:
				var tt int64
				if typeIDs != nil {
					tt = typeIDs[i]
				}
				add(x[s], r.get("embeddings.token_type_embeddings.weight")[int(tt)*H:])
				add(x[s], r.get("embeddings.position_embeddings.weight")[s*H:])
			case ArchXLMR:
				p := r.PadID
				if ids[i] != r.PadID {
					pos++
					p = pos
				}
				add(x[s], r.get("embeddings.token_type_embeddings.weight"))
				add(x[s], r.get("embeddings.position_embeddings.weight")[int(p)*H:])
			}
		}
		if r.Arch != ArchStatic {
			for s := range x {
				r.layerNorm(x[s], "embeddings.LayerNorm")
			}
			for l := 0; l < r.Layers; l++ {
				x = r.layer(x, mask[b*seq:(b+1)*seq], fmt.Sprintf("encoder.layer.%d", l))
			}
		}
		for s := 0; s < seq; s++ {
			for h := 0; h < H; h++ {
				out[(b*seq+s)*H+h] = float32(x[s][h])
			}
		}
	}
	return out
}

func add(x []float64, v []float32) {
	for i := range x {
		x[i] += float64(v[i])
	}
}

func (r *Reference) layerNorm(x []float64, name string) {
	g, bias := r.get(name+".weight"), r.get(name+".bias")
	var mean, v float64
	for _, a := range x {
		mean += a
	}
	mean /= float64(len(x))
	for _, a := range x {
		v += (a - mean) * (a - mean)
	}
	v /= float64(len(x))
	d := math.Sqrt(v + r.Eps)
	for i := range x {
		x[i] = (x[i]-mean)/d*float64(g[i]) + float64(bias[i])
	}
}

// linear computes x W + b with W stored [in, out].
func (r *Reference) linear(x []float64, name string) []float64 {
	w, b := r.get(name+".weight"), r.get(name+".bias")
	dims := r.dims[name+".weight"]
	in, out := int(dims[0]), int(dims[1])
	y := make([]float64, out)
	for j := 0; j < out; j++ {
		y[j] = float64(b[j])
	}
	for i := 0; i < in; i++ {
		xi := x[i]
		row := w[i*out : (i+1)*out]
		for j := range y {
			y[j] += xi * float64(row[j])
		}
	}
	return y
}

func (r *Reference) layer(x [][]float64, mask []int64, n string) [][]float64 {
	seq, H := len(x), r.Hidden
	hd := H / r.Heads
	q := make([][]float64, seq)
	k := make([][]float64, seq)
	v := make([][]float64, seq)
	for s := range x {
		q[s] = r.linear(x[s], n+".attention.self.query")
		k[s] = r.linear(x[s], n+".attention.self.key")
		v[s] = r.linear(x[s], n+".attention.self.value")
	}
	ctx := make([][]float64, seq)
	for s := range ctx {
		ctx[s] = make([]float64, H)
	}
	scale := math.Sqrt(float64(hd))
	scores := make([]float64, seq)
	for h := 0; h < r.Heads; h++ {
		for i := 0; i < seq; i++ {
			mx := math.Inf(-1)
			for j := 0; j < seq; j++ {
				var d float64
				for e := h * hd; e < (h+1)*hd; e++ {
					d += q[i][e] * k[j][e]
				}
				d /= scale
				d += (1 - float64(mask[j])) * -10000
				scores[j] = d
				mx = math.Max(mx, d)
			}
			var sum float64
			for j := range scores {
				scores[j] = math.Exp(scores[j] - mx)
				sum += scores[j]
			}
			for j := range scores {
				p := scores[j] / sum
				for e := h * hd; e < (h+1)*hd; e++ {
					ctx[i][e] += p * v[j][e]
				}
			}
		}
	}
	y := make([][]float64, seq)
	for s := range x {
		o := r.linear(ctx[s], n+".attention.output.dense")
		for i := range o {
			o[i] += x[s][i]
		}
		r.layerNorm(o, n+".attention.output.LayerNorm")
		h := r.linear(o, n+".intermediate.dense")
		for i, a := range h {
			if r.GELU == "tanh" {
				h[i] = 0.5 * a * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(a+0.044715*a*a*a)))
			} else {
				h[i] = a * 0.5 * (1 + math.Erf(a/math.Sqrt2))
			}
		}
		f := r.linear(h, n+".output.dense")
		for i := range f {
			f[i] += o[i]
		}
		r.layerNorm(f, n+".output.LayerNorm")
		y[s] = f
	}
	return y
}
