// Command lairbench is lair's encode benchmark (run by bench/encode/run.sh):
//
//	lairbench gen   -out DIR            generate the MiniLM-L12-sized model
//	lairbench texts -raw DIR -out FILE  dump the XQuAD-R candidate texts (JSON)
//	lairbench lair  -model DIR -texts FILE -out FILE   lair's end-to-end encode
//	lairbench ort   -model DIR -texts FILE -out FILE   ONNX Runtime alone on lair's batches
//	lairbench report RESULT.json...      print a Markdown table
//	lairbench padding -model DIR -texts FILE  padded slots: lair's batches vs input order
//
// Each measurement runs in its own process so that peak RSS (VmHWM) is its own.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/lair-ir/lair/datasets/lareqa"
	"github.com/lair-ir/lair/encoder/encode"
	"github.com/lair-ir/lair/encoder/model"
	"github.com/lair-ir/lair/encoder/modelgen"
	"github.com/lair-ir/lair/encoder/ort"
	"github.com/lair-ir/lair/encoder/tokenizer"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "lairbench:", err)
		os.Exit(1)
	}
}

// Result is one measurement.
type Result struct {
	Name       string      `json:"name"`
	Texts      int         `json:"texts"`
	Seconds    float64     `json:"seconds"`
	TextsPerS  float64     `json:"texts_per_s"`
	PeakRSSMiB float64     `json:"peak_rss_mib"`
	Tokens     int64       `json:"tokens,omitempty"`
	Padded     int64       `json:"padded,omitempty"`
	Batches    int         `json:"batches,omitempty"`
	ModelS     float64     `json:"model_s,omitempty"`
	TokenizeS  float64     `json:"tokenize_s,omitempty"`
	Versions   string      `json:"versions,omitempty"`
	First      [][]float32 `json:"first,omitempty"` // vectors of the first texts, for agreement checks
}

func run(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("want a subcommand: gen, texts, lair, ort, report")
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	out := fs.String("out", "", "output file or folder")
	raw := fs.String("raw", "", "raw data mirror (folder holding xquad-r/)")
	modelDir := fs.String("model", "", "model folder")
	textsFile := fs.String("texts", "", "texts JSON file")
	batch := fs.Int("batch", 32, "batch size")
	maxLen := fs.Int("max-length", 128, "max tokens")
	threads := fs.Int("threads", runtime.NumCPU(), "ONNX Runtime intra-op threads")
	layers := fs.Int("layers", 12, "layers (gen)")
	hidden := fs.Int("hidden", 384, "hidden width (gen)")
	heads := fs.Int("heads", 12, "heads (gen)")
	inter := fs.Int("intermediate", 1536, "feed-forward width (gen)")
	vocab := fs.Int("vocab-size", 30522, "vocabulary size (gen)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	ctx := context.Background()
	switch args[0] {
	case "gen":
		texts, err := readTexts(*textsFile)
		if err != nil {
			return err
		}
		return modelgen.Generate(*out, modelgen.Config{Arch: modelgen.ArchBERT, Layers: *layers, Hidden: *hidden, Heads: *heads,
			Intermediate: *inter, MaxPositions: 512, VocabSize: *vocab, Seed: 1, Corpus: texts})
	case "texts":
		res, err := lareqa.LoadDir(ctx, lareqa.XQuADR, filepath.Join(*raw, "xquad-r"), lareqa.XQuADR.Languages)
		if err != nil {
			return err
		}
		texts := make([]string, len(res.Candidates))
		for i, c := range res.Candidates {
			texts[i] = c.Text
		}
		b, _ := json.Marshal(texts)
		return os.WriteFile(*out, b, 0o644)
	case "lair", "ort":
		texts, err := readTexts(*textsFile)
		if err != nil {
			return err
		}
		m, err := model.Open(*modelDir)
		if err != nil {
			return err
		}
		e, err := encode.New(m, encode.Options{Pooling: encode.PoolMean, Normalize: true, MaxLength: *maxLen, BatchSize: *batch, Threads: *threads})
		if err != nil {
			return err
		}
		defer e.Close()
		var r Result
		if args[0] == "lair" {
			r, err = benchLair(ctx, e, texts)
		} else {
			r, err = benchORT(ctx, e, texts)
		}
		if err != nil {
			return err
		}
		r.Texts = len(texts)
		r.TextsPerS = float64(len(texts)) / r.Seconds
		r.PeakRSSMiB = peakRSS()
		b, _ := json.MarshalIndent(r, "", "  ")
		fmt.Fprintf(stdout, "%s: %d texts in %.1f s = %.1f texts/s, peak RSS %.0f MiB\n", r.Name, r.Texts, r.Seconds, r.TextsPerS, r.PeakRSSMiB)
		return os.WriteFile(*out, b, 0o644)
	case "report":
		return report(fs.Args(), stdout)
	case "padding":
		// Padded slots of lair's length-grouped batches versus batches in
		// input order (what a plain loop over the texts feeds a model).
		texts, err := readTexts(*textsFile)
		if err != nil {
			return err
		}
		m, err := model.Open(*modelDir)
		if err != nil {
			return err
		}
		tok, err := tokenizer.FromFile(m.TokenizerPath)
		if err != nil {
			return err
		}
		tok.SetTruncation(*maxLen)
		encs, err := tok.EncodeBatch(ctx, texts, true)
		if err != nil {
			return err
		}
		var tokens, inOrder int64
		for i := 0; i < len(encs); i += *batch {
			L := 0
			for _, e := range encs[i:min(i+*batch, len(encs))] {
				L = max(L, len(e.IDs))
				tokens += int64(len(e.IDs))
			}
			inOrder += int64(L * len(encs[i:min(i+*batch, len(encs))]))
		}
		e, err := encode.New(m, encode.Options{MaxLength: *maxLen, BatchSize: *batch, Threads: 1})
		if err != nil {
			return err
		}
		defer e.Close()
		bs, err := e.Batches(ctx, "", texts)
		if err != nil {
			return err
		}
		var grouped int64
		for _, b := range bs {
			grouped += int64(b.Rows * b.Len)
		}
		fmt.Fprintf(stdout, "%d texts, %d tokens: %d slots in input-order batches (%.0f%% padding), %d in lair's batches (%.0f%% padding)\n",
			len(texts), tokens, inOrder, 100*float64(inOrder-tokens)/float64(inOrder), grouped, 100*float64(grouped-tokens)/float64(grouped))
		return nil
	}
	return fmt.Errorf("unknown subcommand %q", args[0])
}

func readTexts(path string) ([]string, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var t []string
	return t, json.Unmarshal(b, &t)
}

func benchLair(ctx context.Context, e *encode.Encoder, texts []string) (Result, error) {
	t0 := time.Now()
	vecs, dim, st, err := e.Encode(ctx, "passage", "", texts, nil)
	if err != nil {
		return Result{}, err
	}
	r := Result{Name: "lair encode (end to end)", Seconds: time.Since(t0).Seconds(), Tokens: st.Tokens, Padded: st.Padded,
		Batches: st.Batches, ModelS: st.Model.Seconds(), TokenizeS: st.Tokenize.Seconds()}
	for i := 0; i < 3 && i < len(texts); i++ {
		r.First = append(r.First, vecs[i*dim:(i+1)*dim])
	}
	return r, nil
}

// benchORT times ONNX Runtime alone on the batches lair forms (tokenized
// before the clock starts), output allocation included, pooling excluded.
func benchORT(ctx context.Context, e *encode.Encoder, texts []string) (Result, error) {
	batches, err := e.Batches(ctx, "", texts)
	if err != nil {
		return Result{}, err
	}
	s := e.Session()
	var tokens, padded int64
	t0 := time.Now()
	for _, b := range batches {
		if err := s.Run(b, func([]float32, int) error { return nil }); err != nil {
			return Result{}, err
		}
		padded += int64(b.Rows * b.Len)
		for _, m := range b.Mask {
			tokens += m
		}
	}
	return Result{Name: "ONNX Runtime alone (pre-tokenized, same batches)", Seconds: time.Since(t0).Seconds(),
		Tokens: tokens, Padded: padded, Batches: len(batches), Versions: "onnxruntime " + ort.Version}, nil
}

// peakRSS reads VmHWM from /proc/self/status (MiB).
func peakRSS() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmHWM:" {
			var kb float64
			fmt.Sscan(f[1], &kb)
			return kb / 1024
		}
	}
	return -1
}

// report aggregates result files by run name (several files of one name
// are slices of the texts, run interleaved with the other tools) and prints
// a Markdown table; the first name is the baseline of the ratios.
func report(files []string, w io.Writer) error {
	var names []string
	agg := map[string]*Result{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var r Result
		if err := json.Unmarshal(b, &r); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		a, ok := agg[r.Name]
		if !ok {
			names = append(names, r.Name)
			c := r
			agg[r.Name] = &c
			continue
		}
		a.Texts += r.Texts
		a.Seconds += r.Seconds
		a.Tokens += r.Tokens
		a.Padded += r.Padded
		a.Batches += r.Batches
		a.ModelS += r.ModelS
		a.TokenizeS += r.TokenizeS
		a.PeakRSSMiB = math.Max(a.PeakRSSMiB, r.PeakRSSMiB)
	}
	if len(names) == 0 {
		return errors.New("report: no result files")
	}
	base := agg[names[0]]
	base.TextsPerS = float64(base.Texts) / base.Seconds
	fmt.Fprintln(w, "| run | texts | seconds | texts/s | lair relative to it | peak RSS MiB | tokens (padded slots) | notes |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---|")
	for _, n := range names {
		r := agg[n]
		r.TextsPerS = float64(r.Texts) / r.Seconds
		note := r.Versions
		if r.ModelS > 0 {
			note = strings.TrimSpace(fmt.Sprintf("%s model %.1f s, tokenize %.1f s (overlapped)", note, r.ModelS, r.TokenizeS))
		}
		tok := "n/a"
		if r.Tokens > 0 {
			tok = fmt.Sprintf("%d (%d)", r.Tokens, r.Padded)
		}
		fmt.Fprintf(w, "| %s | %d | %.1f | %.2f | %.2fx | %.0f | %s | %s |\n", r.Name, r.Texts, r.Seconds, r.TextsPerS,
			base.TextsPerS/r.TextsPerS, r.PeakRSSMiB, tok, note)
	}
	for _, n := range names[1:] {
		r := agg[n]
		if len(r.First) == 0 || len(base.First) == 0 {
			continue
		}
		worst := 0.0
		for i := range min(len(r.First), len(base.First)) {
			for j := range min(len(r.First[i]), len(base.First[i])) {
				worst = math.Max(worst, math.Abs(float64(r.First[i][j]-base.First[i][j])))
			}
		}
		fmt.Fprintf(w, "\nLargest difference between %s and %s vectors (first %d texts): %.2g\n", r.Name, base.Name, min(len(r.First), len(base.First)), worst)
	}
	return nil
}
