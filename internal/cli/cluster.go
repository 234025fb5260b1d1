package cli

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/lair-ir/lair/cluster/argo"
	"github.com/lair-ir/lair/encoder/backend"
	"github.com/lair-ir/lair/encoder/modelgen"
	"github.com/lair-ir/lair/internal/doctor"
	"github.com/lair-ir/lair/pipeline"
)

const exportArgoSynopsis = `lair export argo DAG --store URL [--image IMG] [--set NAME=VALUE]... [--gpu-stage STAGE]...
                        [--secret NAME] [--retries N] [--parallelism N] [--namespace NS] [-o FILE]

Writes an Argo Workflows manifest (YAML) running every stage instance of DAG
as one task: 'lair stage run DAG INSTANCE --store URL' in the lair image.`

func cmdExportArgo(ctx context.Context, s *sys, args []string) error {
	fs := newFlags("lair export argo", exportArgoSynopsis, s.stdout)
	var opts argo.Options
	fs.StringVar(&opts.Store, "store", os.Getenv("LAIR_STORE"), "artifact store shared by the steps, s3://bucket/prefix (default $LAIR_STORE)")
	fs.StringVar(&opts.Image, "image", argo.DefaultImage, "image built from the repository's Dockerfile")
	fs.StringVar(&opts.GPUImage, "gpu-image", "", "image for GPU steps, e.g. with a CUDA build of ONNX Runtime (default: --image)")
	fs.StringVar(&opts.Secret, "secret", argo.DefaultSecret, "Secret holding AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY [, AWS_REGION, AWS_ENDPOINT_URL, AWS_SESSION_TOKEN]")
	fs.IntVar(&opts.Retries, "retries", argo.DefaultRetries, "retries per step, with exponential backoff from 30s (-1 or 0: none)")
	fs.IntVar(&opts.Parallelism, "parallelism", 0, "at most N steps at once (default: unlimited)")
	fs.StringVar(&opts.Namespace, "namespace", "", "metadata.namespace of the workflow")
	fs.StringVar(&opts.DAGPath, "dag-path", "", "the DAG's path inside the image, relative to /opt/lair (default: DAG as given)")
	out := fs.String("o", "", "write to FILE instead of standard output")
	var sets, gpus multiFlag
	fs.Var(&sets, "set", "DAG parameter override, passed to every step too: NAME=VALUE; repeatable")
	fs.Var(&gpus, "gpu-stage", "run this DAG stage on a GPU node (besides gpu-optional stage types); repeatable")
	pos, err := parseArgs(fs, args, 1, 1)
	if err != nil {
		return err
	}
	if opts.Retries == 0 {
		opts.Retries = -1 // --retries 0 means none
	}
	set, err := setFlags(sets)
	if err != nil {
		return err
	}
	opts.Set = set
	opts.GPUStages = gpus
	plan, err := loadPlan(pos[0], sets, s.reg)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := argo.Export(&buf, plan, opts); err != nil {
		return usageError{err}
	}
	if *out == "" {
		_, err = s.stdout.Write(buf.Bytes())
		return err
	}
	if err := os.WriteFile(*out, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("export argo: %w", err)
	}
	return nil
}

const modelNewSynopsis = `lair model new [flags] DIR

Writes a random-weight encoder in Hugging Face layout (model.onnx,
config.json, tokenizer.json) into DIR. The weights are a pure function of the
flags: the same flags give the same bytes.`

func cmdModelNew(ctx context.Context, s *sys, args []string) error {
	fs := newFlags("lair model new", modelNewSynopsis, s.stderr)
	var c modelgen.Config
	var corpus string
	fs.StringVar(&c.Arch, "arch", modelgen.ArchBERT, "architecture: "+strings.Join(modelgen.Architectures, ", "))
	fs.IntVar(&c.Layers, "layers", 2, "transformer layers (bert, xlmr)")
	fs.IntVar(&c.Hidden, "hidden", 128, "hidden width")
	fs.IntVar(&c.Heads, "heads", 2, "attention heads (bert, xlmr)")
	fs.IntVar(&c.Intermediate, "intermediate", 0, "feed-forward width (default 4*hidden)")
	fs.IntVar(&c.MaxPositions, "max-positions", 512, "longest input in tokens")
	fs.IntVar(&c.VocabSize, "vocab-size", 0, "vocabulary size: caps or pads a generated vocabulary (0: as built)")
	fs.StringVar(&c.Tokenizer, "tokenizer", "", "use this tokenizer.json instead of generating one")
	fs.StringVar(&corpus, "corpus", "", "build the vocabulary from this text file (one text per line)")
	fs.Uint64Var(&c.Seed, "seed", 1, "seed of the random weights")
	fs.StringVar(&c.Style.Exporter, "style", "", "graph style: \"\" (lair's compact graph), torch (torch.onnx's TorchScript exporter) or torch-dynamo (dynamo=True)")
	fs.StringVar(&c.Style.LayerNorm, "layer-norm", "op", "op (LayerNormalization, opset 17) or decomposed (ReduceMean/Sub/Pow/Sqrt/Div, opset 14)")
	fs.StringVar(&c.Style.GELU, "gelu", "erf", "erf or tanh (gelu_new)")
	fs.StringVar(&c.Style.Output, "output", "last_hidden_state", "output name: last_hidden_state or token_embeddings")
	fs.BoolVar(&c.Style.Pooler, "pooler", false, "add a pooler_output output, as BertModel exports have")
	fs.Int64Var(&c.Style.ExternalThreshold, "external-threshold", 0, "weights over this many bytes go to model.onnx_data (0: protobuf's 2 GB limit)")
	pos, err := parseArgs(fs, args, 1, 1)
	if err != nil {
		return err
	}
	if corpus != "" {
		if c.Tokenizer != "" {
			return usagef("lair model new: -corpus and -tokenizer exclude each other")
		}
		texts, err := readLines(ctx, corpus)
		if err != nil {
			return fmt.Errorf("lair model new: corpus: %w", err)
		}
		c.Corpus = texts
	}
	if err := modelgen.Generate(pos[0], c); err != nil {
		return err
	}
	fmt.Fprintf(s.stdout, "wrote %s model to %s\n", c.Arch, pos[0])
	return nil
}

// readLines reads the non-empty, trimmed lines of a text file.
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
		if t := strings.TrimSpace(sc.Text()); t != "" {
			out = append(out, t)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s line %d: %w", path, len(out)+1, err)
	}
	return out, nil
}

const doctorSynopsis = `lair doctor [--pjrt-plugin FILE] [DAG [--set NAME=VALUE]...]

Prints what this machine offers lair; given a DAG, checks that every stage's
device and backend are available (exit 2 when not).`

func cmdDoctor(ctx context.Context, s *sys, args []string) error {
	fs := newFlags("lair doctor", doctorSynopsis, s.stdout)
	plugin := fs.String("pjrt-plugin", "", "PJRT plugin file for device cuda (default $"+backend.EnvPlugin+", then the usual places)")
	var sets multiFlag
	fs.Var(&sets, "set", "override a DAG param: NAME=VALUE; repeatable")
	pos, err := parseArgs(fs, args, 0, 1)
	if err != nil {
		return err
	}
	env, err := envFromFlags("", "", 0)
	if err != nil {
		return err
	}
	var plan *pipeline.Plan
	var dag string
	if len(pos) == 1 {
		dag = pos[0]
		if plan, err = loadPlan(dag, sets, s.reg); err != nil {
			return err
		}
	}
	return doctor.Doctor(s.stdout, doctor.HostProbes(lairVersion(), *plugin), env, dag, plan, usagef)
}
