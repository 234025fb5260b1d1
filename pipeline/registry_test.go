package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"github.com/lair-ir/lair/storage/dirstore"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// recorder notes which instances ran, and the most that ran at once.
type recorder struct {
	mu      sync.Mutex
	ran     []string
	active  atomic.Int32
	maxSeen atomic.Int32
	// gate, when set, is waited on by every stage (to test parallelism).
	gate chan struct{}
	// fail names instances (or stages) that fail.
	fail map[string]bool
}

func (r *recorder) names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := append([]string(nil), r.ran...)
	sort.Strings(out)
	return out
}

// write is the Run of every test stage type: it writes out.txt holding
// its name, params and a hash of its inputs' out.txt files.
func (r *recorder) write(ctx context.Context, sc *StageContext) error {
	n := r.active.Add(1)
	defer r.active.Add(-1)
	for {
		m := r.maxSeen.Load()
		if n <= m || r.maxSeen.CompareAndSwap(m, n) {
			break
		}
	}
	r.mu.Lock()
	r.ran = append(r.ran, sc.Name)
	r.mu.Unlock()
	if r.gate != nil {
		select {
		case <-r.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if r.fail[sc.Name] || r.fail[strings.SplitN(sc.Name, "[", 2)[0]] {
		return fmt.Errorf("told to fail")
	}
	h := sha256.New()
	for _, in := range sc.Inputs {
		b, err := os.ReadFile(in.Path("out.txt"))
		if err != nil {
			return err
		}
		h.Write(b)
	}
	keys := make([]string, 0, len(sc.Params))
	for k := range sc.Params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "%s inputs=%s", sc.Name, hex.EncodeToString(h.Sum(nil))[:8])
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%v", k, sc.Params[k])
	}
	sc.Progress.Start("write", 1)
	sc.Progress.Add(1)
	return os.WriteFile(filepath.Join(sc.OutDir, "out.txt"), []byte(b.String()+"\n"), 0o644)
}

// testRegistry registers stage types shaped like lair's real ones.
func testRegistry(r *recorder) *Registry {
	reg := NewRegistry()
	run := r.write
	reg.Register(&StageType{Name: "test/source", Doc: "makes a dataset", Output: KindDataset, Run: run,
		Params: []Param{
			{Name: "lang", Type: TypeString, Default: "en", Doc: "language", Enum: []string{"en", "de", "ar"}},
			{Name: "seed", Type: TypeInt, Default: 1, Doc: "seed"},
		}})
	reg.Register(&StageType{Name: "test/pairs", Doc: "makes pairs", Output: KindPairs, Run: run,
		Inputs: []Input{{Kind: KindDataset, Doc: "a dataset"}},
		Params: []Param{{Name: "langs", Type: TypeStrings, Default: []string{"en"}, Doc: "languages"}}})
	reg.Register(&StageType{Name: "test/batches", Doc: "plans batches", Output: KindBatches, Run: run,
		Inputs: []Input{{Kind: KindPairs, Doc: "training pairs"}},
		Params: []Param{
			{Name: "strategy", Type: TypeString, Required: true, Doc: "batching strategy", Enum: []string{"mono", "cross", "hybrid"}},
			{Name: "batch_size", Type: TypeInt, Default: 32, Doc: "pairs per batch"},
			{Name: "alpha", Type: TypeFloat, Default: 0.5, Doc: "mixing weight"},
			{Name: "shuffle", Type: TypeBool, Default: true, Doc: "shuffle"},
		}})
	reg.Register(&StageType{Name: "test/model", Doc: "makes a model", Output: KindModel, Run: run,
		Params: []Param{{Name: "size", Type: TypeInt, Default: 8, Doc: "hidden size"}}})
	reg.Register(&StageType{Name: "test/train", Doc: "trains", Output: KindModel, Run: run,
		Inputs: []Input{{Kind: KindBatches, Doc: "batch plan"}, {Kind: KindModel, Doc: "initial model"}},
		Params: []Param{{Name: "epochs", Type: TypeInt, Default: 1, Doc: "epochs"}}})
	reg.Register(&StageType{Name: "test/encode", Doc: "encodes", Output: KindEmbeddings, Run: run,
		Inputs: []Input{{Kind: KindModel, Doc: "model"}, {Kind: KindDataset, Doc: "dataset"}}})
	reg.Register(&StageType{Name: "test/eval", Doc: "evaluates", Output: KindMetrics, Run: run,
		Inputs: []Input{{Kind: KindEmbeddings, Doc: "embeddings"}, {Kind: KindDataset, Doc: "dataset", Optional: true}}})
	reg.Register(&StageType{Name: "test/report", Doc: "reports", Output: KindReport, Run: run,
		Inputs: []Input{{Kind: KindMetrics, Doc: "metrics of every run", Many: true}}})
	return reg
}

func writeDAG(t *testing.T, dir, text string) string {
	t.Helper()
	p := filepath.Join(dir, "dag.yaml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func openStore(t *testing.T, dir string) *dirstore.Store {
	t.Helper()
	s, err := dirstore.Open(context.Background(), dir, dirstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var _ = time.Second
