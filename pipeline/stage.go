package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
)

// Kind names a kind of artifact that stages take and make. Each kind is a
// directory with a fixed set of files; ArtifactKinds documents them.
type Kind string

// The artifact kinds lair's stages exchange.
const (
	KindDataset    Kind = "dataset"    // queries.parquet, candidates.parquet, qrels.parquet, meta.json
	KindPairs      Kind = "pairs"      // pairs.parquet (training pairs), meta.json
	KindBatches    Kind = "batches"    // batches.arrow (one record batch = one training batch), stats.parquet
	KindModel      Kind = "model"      // Hugging Face layout: tokenizer.json, config.json, model.onnx
	KindEmbeddings Kind = "embeddings" // embeddings.arrow
	KindRankings   Kind = "rankings"   // rankings.parquet: per query and setting, ranks of relevant candidates + top-k
	KindMetrics    Kind = "metrics"    // metrics.parquet, per_query.parquet, TREC run files
	KindReport     Kind = "report"     // report.html plus the tables it was made from
	KindTrainLog   Kind = "trainlog"   // reserved; training logs travel inside model artifacts
	KindCheck      Kind = "check"      // a check's findings (check.json); made by gates such as check/leakage
)

// ArtifactKinds documents every kind, for `lair stages` and README.
var ArtifactKinds = map[Kind]string{
	KindDataset:    "normalized retrieval dataset: queries.parquet, candidates.parquet, qrels.parquet, meta.json",
	KindPairs:      "training pairs: pairs.parquet (pair_id, group_id, source, q_lang, q_text, p_lang, p_text, neg_text, split)",
	KindBatches:    "seeded batch plan: batches.arrow (Arrow IPC file, one record batch per training batch), stats.parquet",
	KindModel:      "encoder in Hugging Face layout: tokenizer.json, config.json, model.onnx (and training_log.parquet when trained)",
	KindEmbeddings: "embeddings.arrow (Arrow IPC): id, role, lang, vector, model_key",
	KindRankings:   "rankings.parquet: for every query and setting, the ranks of its relevant candidates and its top-k list",
	KindMetrics:    "metrics.parquet, per_query.parquet and TREC run/qrels files",
	KindReport:     "report.html and the metrics tables it shows",
	KindCheck:      "check.json: what a check found",
}

// ParamType is the type of a stage parameter.
type ParamType string

// Parameter types. Values reach a stage as string, int, float64, bool and
// []string respectively.
const (
	TypeString  ParamType = "string"
	TypeInt     ParamType = "int"
	TypeFloat   ParamType = "float"
	TypeBool    ParamType = "bool"
	TypeStrings ParamType = "strings"
)

// Param declares one parameter of a stage type.
type Param struct {
	Name     string
	Type     ParamType
	Default  any // nil with Required=false means "no value" (the getter returns the zero value)
	Required bool
	Doc      string
	// Enum, when set, lists the values a string parameter may take.
	Enum []string
}

// Input declares one input slot of a stage type. Needs are assigned to slots
// by kind.
type Input struct {
	Kind Kind
	Doc  string
	// Many lets the slot take any number (>= 1 unless Optional) of upstream
	// artifacts: a matrix upstream then fans in to one instance instead of
	// fanning out.
	Many     bool
	Optional bool
}

// StageType is the declaration of a stage type: one declaration drives
// validation, `lair stages` and the documentation.
type StageType struct {
	Name    string // e.g. "dataset/xquad-r"
	Version string // bump when the output for the same inputs changes; part of the cache key
	Doc     string
	Params  []Param
	Inputs  []Input
	Output  Kind
	// Device reports whether the stage wants an accelerator (used when
	// exporting to cluster schedulers). Values: "" (cpu) or "gpu-optional".
	Device string
	// KeyParams, when set, returns the params the instance's key is
	// computed from, in place of the resolved ones, when the plan is made:
	// a param that names outside content (a local folder) can be replaced by
	// that content's hash, so that editing the folder gives a new key and
	// the same files elsewhere the same key. An error is a plan error.
	KeyParams func(params Params) (Params, error)
	Run       func(ctx context.Context, sc *StageContext) error
}

// Param returns the declaration of the named parameter.
func (t *StageType) Param(name string) (Param, bool) {
	for _, p := range t.Params {
		if p.Name == name {
			return p, true
		}
	}
	return Param{}, false
}

// Artifact is a finished artifact a stage reads: a read-only directory.
type Artifact struct {
	Kind   Kind
	Stage  string            // the producing stage instance, e.g. "batches[strategy=hybrid]"
	Matrix map[string]string // the producing instance's matrix values
	Key    string            // content address in the store
	Dir    string            // directory holding the artifact's files; never write into it
}

// Path returns the path of a file inside the artifact.
func (a Artifact) Path(name string) string { return a.Dir + "/" + name }

// Progress reports the progress of one stage.
type Progress interface {
	// Start begins a phase with a known total number of items (0 when unknown).
	Start(phase string, total int64)
	// Add records n more items done in the current phase.
	Add(n int64)
}

// NopProgress discards progress reports.
type NopProgress struct{}

func (NopProgress) Start(string, int64) {}
func (NopProgress) Add(int64)           {}

// Env carries run-wide settings that do not change what a stage produces and
// therefore are not part of any cache key.
type Env struct {
	Mirror   string // dataset mirror: a directory or base URL ("" = official URLs)
	CacheDir string // download and embedding caches
	Threads  int    // CPU threads a stage may use
	// Backend is the GoMLX backend that stages running GoMLX on device
	// cpu use (training, and encoding with backend gomlx; the GOMLX_BACKEND
	// syntax, e.g. "go:parallelism=16"); "" lets the stage choose. It changes speed, not results, so it is not in any key.
	Backend string
}

// StageContext is everything a running stage sees.
type StageContext struct {
	Name string // instance name, e.g. "train[strategy=hybrid]"
	// Key is the instance's content address: what the stage makes is
	// determined by it, so it can name anything derived (checkpoints,
	// caches) without hashing its inputs again.
	Key      string
	Type     *StageType
	Params   Params
	Inputs   []Artifact
	OutDir   string // an empty directory; write the artifact's files here
	Env      Env
	Log      *slog.Logger
	Progress Progress
}

// Input returns the one input of the given kind; it is an error if there is
// not exactly one.
func (sc *StageContext) Input(kind Kind) (Artifact, error) {
	got := sc.InputsOf(kind)
	if len(got) != 1 {
		return Artifact{}, fmt.Errorf("stage %s: want exactly one %s input, have %d", sc.Name, kind, len(got))
	}
	return got[0], nil
}

// InputsOf returns every input of the given kind in the order of `needs`.
func (sc *StageContext) InputsOf(kind Kind) []Artifact {
	var out []Artifact
	for _, a := range sc.Inputs {
		if a.Kind == kind {
			out = append(out, a)
		}
	}
	return out
}

// Params are a stage's resolved parameters: defaults applied, references
// and matrix values substituted, types checked.
type Params map[string]any

// String returns a string parameter.
func (p Params) String(name string) string {
	v, _ := p[name].(string)
	return v
}

// Int returns an integer parameter.
func (p Params) Int(name string) int {
	switch v := p[name].(type) {
	case int:
		return v
	case int64:
		return int(v)
	case uint64:
		return int(v)
	case float64:
		return int(v)
	}
	return 0
}

// Float returns a float parameter.
func (p Params) Float(name string) float64 {
	switch v := p[name].(type) {
	case float64:
		return v
	case int:
		return float64(v)
	case int64:
		return float64(v)
	case uint64:
		return float64(v)
	}
	return 0
}

// Bool returns a boolean parameter.
func (p Params) Bool(name string) bool {
	v, _ := p[name].(bool)
	return v
}

// Strings returns a list-of-strings parameter.
func (p Params) Strings(name string) []string {
	switch v := p[name].(type) {
	case []string:
		return v
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			out = append(out, fmt.Sprint(x))
		}
		return out
	case string:
		if v == "" {
			return nil
		}
		return strings.Split(v, ",")
	}
	return nil
}

// Registry holds the stage types a run may use.
type Registry struct {
	types map[string]*StageType
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{types: map[string]*StageType{}} }

// Register adds a stage type; registering a name twice panics (a programming error).
func (r *Registry) Register(t *StageType) {
	if _, dup := r.types[t.Name]; dup {
		panic("pipeline: stage type registered twice: " + t.Name)
	}
	if t.Version == "" {
		t.Version = "1"
	}
	r.types[t.Name] = t
}

// Lookup returns the stage type of that name.
func (r *Registry) Lookup(name string) (*StageType, bool) {
	t, ok := r.types[name]
	return t, ok
}

// Names returns every registered type name, sorted.
func (r *Registry) Names() []string {
	out := make([]string, 0, len(r.types))
	for n := range r.types {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
