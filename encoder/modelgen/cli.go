package modelgen

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// Usage is the help text of `lair model new`.
const Usage = `usage: lair model new [flags] DIR

Writes a random-weight encoder in Hugging Face layout (model.onnx,
config.json, tokenizer.json) into DIR. The weights are a pure function of the
flags: the same flags give the same bytes.

flags:
`

// Main implements `lair model new`: args are the arguments after "new".
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("lair model new", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c Config
	var corpus string
	fs.StringVar(&c.Arch, "arch", ArchBERT, "architecture: "+strings.Join(Architectures, ", "))
	fs.IntVar(&c.Layers, "layers", 2, "transformer layers (bert, xlmr)")
	fs.IntVar(&c.Hidden, "hidden", 128, "hidden width")
	fs.IntVar(&c.Heads, "heads", 2, "attention heads (bert, xlmr)")
	fs.IntVar(&c.Intermediate, "intermediate", 0, "feed-forward width (default 4*hidden)")
	fs.IntVar(&c.MaxPositions, "max-positions", 512, "longest input in tokens")
	fs.IntVar(&c.VocabSize, "vocab-size", 0, "vocabulary size: caps or pads a generated vocabulary (0: as built)")
	fs.StringVar(&c.Tokenizer, "tokenizer", "", "use this tokenizer.json instead of generating one")
	fs.StringVar(&corpus, "corpus", "", "build the vocabulary from this text file (one text per line)")
	fs.Uint64Var(&c.Seed, "seed", 1, "seed of the random weights")
	fs.Usage = func() {
		fmt.Fprint(stderr, Usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errors.New("lair model new: want exactly one output directory")
	}
	if corpus != "" {
		if c.Tokenizer != "" {
			return errors.New("lair model new: -corpus and -tokenizer exclude each other")
		}
		texts, err := readLines(ctx, corpus)
		if err != nil {
			return fmt.Errorf("lair model new: corpus: %w", err)
		}
		c.Corpus = texts
	}
	dir := fs.Arg(0)
	if err := Generate(dir, c); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s model to %s\n", c.Arch, dir)
	return nil
}

func readLines(ctx context.Context, path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		if len(out)%4096 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if s := strings.TrimSpace(sc.Text()); s != "" {
			out = append(out, s)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s line %d: %w", path, len(out)+1, err)
	}
	return out, nil
}
