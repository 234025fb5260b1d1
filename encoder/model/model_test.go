package model_test

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lair-ir/lair/encoder/model"
	"github.com/lair-ir/lair/encoder/modelgen"
	"github.com/lair-ir/lair/encoder/onnxpb"
	"github.com/lair-ir/lair/internal/fetch"
	"github.com/lair-ir/lair/internal/testenv"
)

func gen(t *testing.T, arch string) string {
	t.Helper()
	dir := t.TempDir()
	if err := modelgen.Generate(dir, modelgen.Config{Arch: arch, Layers: 1, Hidden: 16, Heads: 2, MaxPositions: 64, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestOpenGenerated(t *testing.T) {
	for _, arch := range modelgen.Architectures {
		m, err := model.Open(gen(t, arch))
		if err != nil {
			t.Fatalf("%s: %v", arch, err)
		}
		if m.HasTypeIDs != (arch == modelgen.ArchBERT) {
			t.Errorf("%s: HasTypeIDs %v", arch, m.HasTypeIDs)
		}
		if m.EmbeddingRows != int64(m.VocabSize) {
			t.Errorf("%s: embedding rows %d, vocab %d", arch, m.EmbeddingRows, m.VocabSize)
		}
		if m.MaxLength != 64 {
			t.Errorf("%s: max length %d, want 64", arch, m.MaxLength)
		}
		wantPad := int64(0)
		if arch == modelgen.ArchXLMR {
			wantPad = 1
		}
		if m.PadID != wantPad || len(m.Hash) != 64 {
			t.Errorf("%s: pad %d hash %q", arch, m.PadID, m.Hash)
		}
	}
}

func TestOpenOnnxSubfolder(t *testing.T) {
	dir := gen(t, "static")
	os.Mkdir(filepath.Join(dir, "onnx"), 0o755)
	if err := os.Rename(filepath.Join(dir, "model.onnx"), filepath.Join(dir, "onnx", "model.onnx")); err != nil {
		t.Fatal(err)
	}
	m, err := model.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if err := m.CopyTo(out); err != nil {
		t.Fatal(err)
	}
	if _, err := model.Open(out); err != nil {
		t.Fatalf("copied model: %v", err)
	}
}

// TestCopyToIsACopy: editing the source folder in place after CopyTo
// (as a user re-exporting a model does) leaves the copy unchanged.
func TestCopyToIsACopy(t *testing.T) {
	dir := gen(t, "static")
	m, err := model.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if err := m.CopyTo(out); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(out, "config.json"))
	f, err := os.OpenFile(filepath.Join(dir, "config.json"), os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"edited": true}`)
	f.Close()
	after, _ := os.ReadFile(filepath.Join(out, "config.json"))
	if string(after) != string(before) {
		t.Fatalf("the copy changed with its source: %s", after)
	}
	for _, n := range []string{"config.json", "tokenizer.json", "model.onnx"} {
		a, _ := os.Stat(filepath.Join(dir, n))
		b, _ := os.Stat(filepath.Join(out, n))
		if os.SameFile(a, b) {
			t.Errorf("%s is a hard link to the source", n)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	cases := []struct {
		name   string
		break_ func(dir string)
		want   string
	}{
		{"missing tokenizer", func(d string) { os.Remove(filepath.Join(d, "tokenizer.json")) }, "missing tokenizer.json"},
		{"missing onnx", func(d string) { os.Remove(filepath.Join(d, "model.onnx")) }, "missing model.onnx"},
		{"bad config", func(d string) { os.WriteFile(filepath.Join(d, "config.json"), []byte("{"), 0o644) }, "config.json"},
		{"garbage onnx", func(d string) { os.WriteFile(filepath.Join(d, "model.onnx"), []byte("\xff\xff\xff"), 0o644) }, "not a valid ONNX file"},
		{"small vocabulary", func(d string) {
			// A model whose embedding table is smaller than the tokenizer.
			m := modelgen.Build(modelgen.Config{Arch: "static", Hidden: 16}, 10, 0)
			onnxpb.WriteFile(filepath.Join(d, "model.onnx"), m)
		}, "embedding table"},
		{"wrong inputs", func(d string) {
			m := modelgen.Build(modelgen.Config{Arch: "static", Hidden: 16}, 10, 0)
			m.Graph.Inputs[0].Name = "pixel_values"
			onnxpb.WriteFile(filepath.Join(d, "model.onnx"), m)
		}, "unexpected graph input"},
		{"task head output", func(d string) {
			m := modelgen.Build(modelgen.Config{Arch: "static", Hidden: 16}, 10000, 0)
			m.Graph.Outputs[0].Name = "logits"
			onnxpb.WriteFile(filepath.Join(d, "model.onnx"), m)
		}, "the graph gives logits"},
		{"other output", func(d string) {
			m := modelgen.Build(modelgen.Config{Arch: "static", Hidden: 16}, 10000, 0)
			m.Graph.Outputs[0].Name = "hidden"
			onnxpb.WriteFile(filepath.Join(d, "model.onnx"), m)
		}, "no output named last_hidden_state or token_embeddings"},
		{"missing external data", func(d string) {
			m := modelgen.Build(modelgen.Config{Arch: "static", Hidden: 16}, 10000, 0)
			onnxpb.WriteModel(filepath.Join(d, "model.onnx"), m, onnxpb.WriteOptions{ExternalThreshold: 100})
			os.Remove(filepath.Join(d, "model.onnx_data"))
		}, "external data file model.onnx_data, which is missing"},
	}
	for _, c := range cases {
		dir := gen(t, "static")
		c.break_(dir)
		_, err := model.Open(dir)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to mention %q", c.name, err, c.want)
		}
	}
	if _, err := model.Open(filepath.Join(t.TempDir(), "nope")); err == nil {
		t.Error("missing folder: no error")
	}
}

func TestParseRef(t *testing.T) {
	for in, want := range map[string]string{
		"hf://org/name":           "hf://org/name@main",
		"hf://org/name@v1.0":      "hf://org/name@v1.0",
		"hf://o/n@0123456789abcd": "hf://o/n@0123456789abcd",
	} {
		r, ok, err := model.ParseRef(in)
		if err != nil || !ok || r.String() != want {
			t.Errorf("%s: %v %v %v", in, r, ok, err)
		}
	}
	for _, in := range []string{"hf://", "hf://a/b/c", "hf://../x", "hf://a/b@../../x"} {
		if _, _, err := model.ParseRef(in); err == nil {
			t.Errorf("%s: no error", in)
		}
	}
	// An organisation alone is not a model: say what is missing.
	if _, ok, err := model.ParseRef("hf://justorg"); !ok || err == nil || !strings.Contains(err.Error(), "hf://org/name") {
		t.Errorf("hf://justorg: %v; want an error showing hf://org/name", err)
	}
	if _, ok, _ := model.ParseRef("/some/path"); ok {
		t.Error("a path parsed as a reference")
	}
}

// fakeHub serves a model folder the way huggingface.co does: small files
// directly with a git-sha1 ETag, LFS files (model.onnx) by a redirect to a
// storage host carrying X-Linked-Etag (sha256) and X-Linked-Size, which
// serves Range requests.
type fakeHub struct {
	files     map[string][]byte
	lfs       map[string]bool
	commit    string
	token     string
	badSHA    bool
	mu        sync.Mutex
	ranges    []string
	gets      map[string]int
	authOnCDN bool
	cdnBase   string // the storage host: another host name than the hub's
}

// serve starts the hub at 127.0.0.1 and the storage host at localhost.
func (f *fakeHub) serve(t *testing.T) string {
	h := f.handler(t)
	cdn := httptest.NewServer(h)
	t.Cleanup(cdn.Close)
	f.cdnBase = strings.Replace(cdn.URL, "127.0.0.1", "localhost", 1)
	hub := httptest.NewServer(h)
	t.Cleanup(hub.Close)
	return hub.URL
}

func (f *fakeHub) handler(t *testing.T) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/org/model/resolve/{rev}/{file...}", func(w http.ResponseWriter, r *http.Request) {
		if f.token != "" && r.Header.Get("Authorization") != "Bearer "+f.token {
			w.Header().Set("X-Error-Code", "GatedRepo")
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		file := r.PathValue("file")
		b, ok := f.files[file]
		if !ok {
			w.Header().Set("X-Error-Code", "EntryNotFound")
			http.NotFound(w, r)
			return
		}
		w.Header().Set("X-Repo-Commit", f.commit)
		if f.lfs[file] {
			sum := sha256.Sum256(b)
			etag := hex.EncodeToString(sum[:])
			if f.badSHA {
				etag = strings.Repeat("0", 64)
			}
			w.Header().Set("X-Linked-Etag", `"`+etag+`"`)
			w.Header().Set("X-Linked-Size", fmt.Sprint(len(b)))
			w.Header().Set("Location", f.cdnBase+"/cdn/"+file)
			w.WriteHeader(http.StatusFound)
			return
		}
		sum := sha1.Sum(b)
		w.Header().Set("ETag", `"`+hex.EncodeToString(sum[:])+`"`)
		if r.Method == http.MethodGet {
			f.count(file)
		}
		http.ServeContent(w, r, file, time.Time{}, strings.NewReader(string(b)))
	})
	mux.HandleFunc("/cdn/{file...}", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			f.authOnCDN = true
		}
		file := r.PathValue("file")
		f.mu.Lock()
		if rg := r.Header.Get("Range"); rg != "" {
			f.ranges = append(f.ranges, rg)
		}
		f.mu.Unlock()
		f.count(file)
		http.ServeContent(w, r, file, time.Time{}, strings.NewReader(string(f.files[file])))
	})
	return mux
}

func (f *fakeHub) count(file string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.gets == nil {
		f.gets = map[string]int{}
	}
	f.gets[file]++
}

func newFakeHub(t *testing.T, subdir bool) *fakeHub {
	dir := gen(t, "bert")
	f := &fakeHub{files: map[string][]byte{}, lfs: map[string]bool{}, commit: "0123456789abcdef0123456789abcdef01234567"}
	for _, n := range []string{"config.json", "tokenizer.json", "model.onnx"} {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		if n == "model.onnx" && subdir {
			n = "onnx/model.onnx"
		}
		f.files[n] = b
	}
	f.lfs["model.onnx"], f.lfs["onnx/model.onnx"], f.lfs["tokenizer.json"] = true, true, true
	return f
}

func TestHubFetch(t *testing.T) {
	for _, subdir := range []bool{false, true} {
		f := newFakeHub(t, subdir)
		f.token = "secret"
		srvURL := f.serve(t)
		cache := t.TempDir()
		hub := &model.Hub{Endpoint: srvURL, Token: "secret", CacheDir: cache}
		dir, err := hub.Resolve(context.Background(), "hf://org/model")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(dir, f.commit) {
			t.Errorf("snapshot %s is not named by the commit", dir)
		}
		m, err := model.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		if f.authOnCDN {
			t.Error("the token was sent to the storage host")
		}
		// A second fetch reuses the verified files.
		before := f.gets["model.onnx"] + f.gets["onnx/model.onnx"]
		dir2, err := hub.Resolve(context.Background(), "hf://org/model@main")
		if err != nil || dir2 != dir {
			t.Fatalf("second fetch: %s %v", dir2, err)
		}
		if after := f.gets["model.onnx"] + f.gets["onnx/model.onnx"]; after != before {
			t.Errorf("second fetch downloaded model.onnx again (%d -> %d)", before, after)
		}
		// Offline use of the cached snapshot.
		off := &model.Hub{Endpoint: "http://127.0.0.1:1", CacheDir: cache, Offline: true}
		dir3, err := off.Resolve(context.Background(), "hf://org/model")
		if err != nil {
			t.Fatal(err)
		}
		m3, err := model.Open(dir3)
		if err != nil || m3.Hash != m.Hash {
			t.Fatalf("offline: %v", err)
		}
	}
}

func TestHubResume(t *testing.T) {
	f := newFakeHub(t, false)
	srvURL := f.serve(t)
	cache := t.TempDir()
	part := filepath.Join(cache, "models", "org--model", "partial", f.commit, "model.onnx.part")
	os.MkdirAll(filepath.Dir(part), 0o755)
	full := f.files["model.onnx"]
	if err := os.WriteFile(part, full[:len(full)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	hub := &model.Hub{Endpoint: srvURL, CacheDir: cache}
	dir, err := hub.Resolve(context.Background(), "hf://org/model")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "model.onnx"))
	if string(got) != string(full) {
		t.Fatal("resumed file differs")
	}
	if len(f.ranges) != 1 || f.ranges[0] != fmt.Sprintf("bytes=%d-", len(full)/2) {
		t.Errorf("range requests %v", f.ranges)
	}
}

func TestHubErrors(t *testing.T) {
	f := newFakeHub(t, false)
	f.badSHA = true
	srvURL := f.serve(t)
	hub := &model.Hub{Endpoint: srvURL, CacheDir: t.TempDir()}
	if _, err := hub.Resolve(context.Background(), "hf://org/model"); err == nil || !strings.Contains(err.Error(), "checksum mismatch") {
		t.Errorf("bad checksum: %v", err)
	}
	f.badSHA = false
	f.token = "secret"
	if _, err := hub.Resolve(context.Background(), "hf://org/model"); err == nil || !strings.Contains(err.Error(), "HF_TOKEN") {
		t.Errorf("no token: %v", err)
	}
	f.token = ""
	delete(f.files, "tokenizer.json")
	if _, err := hub.Resolve(context.Background(), "hf://org/model"); err == nil || !strings.Contains(err.Error(), "tokenizer.json") {
		t.Errorf("missing file: %v", err)
	}
	off := &model.Hub{CacheDir: t.TempDir(), Offline: true}
	if _, err := off.Resolve(context.Background(), "hf://org/model"); err == nil {
		t.Error("offline without cache: no error")
	}
}

// TestHubRetriesAndTimeouts: 5xx answers are retried (HEAD and GET); an
// endpoint that never answers fails within the downloader's timeout with
// an error naming the model, the file and the URL.
func TestHubRetriesAndTimeouts(t *testing.T) {
	f := newFakeHub(t, false)
	inner := f.handler(t)
	var fails atomic.Int32
	fails.Store(4)
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	var hanging atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hanging.Load() {
			select {
			case <-r.Context().Done():
			case <-hang:
			}
			return
		}
		if fails.Add(-1) >= 0 {
			http.Error(w, "overloaded", http.StatusBadGateway)
			return
		}
		inner.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	cdn := httptest.NewServer(inner)
	t.Cleanup(cdn.Close)
	f.cdnBase = cdn.URL
	fast := func() *fetch.Client {
		return &fetch.Client{HeaderTimeout: 200 * time.Millisecond, IdleTimeout: 200 * time.Millisecond, Backoff: time.Millisecond, Retries: 5}
	}
	hub := &model.Hub{Endpoint: srv.URL, CacheDir: t.TempDir(), Download: fast()}
	dir, err := hub.Resolve(context.Background(), "hf://org/model")
	if err != nil {
		t.Fatalf("4 x 502 then success: %v", err)
	}
	if _, err := model.Open(dir); err != nil {
		t.Fatal(err)
	}
	hanging.Store(true)
	t0 := time.Now()
	hub2 := &model.Hub{Endpoint: srv.URL, CacheDir: t.TempDir(), Download: fast()}
	hub2.Download.Retries = 1
	_, err = hub2.Resolve(context.Background(), "hf://org/model")
	if err == nil || !strings.Contains(err.Error(), "hf://org/model") || !strings.Contains(err.Error(), srv.URL) || !strings.Contains(err.Error(), "config.json") {
		t.Fatalf("never-answering hub: %v; want an error naming the model, file and URL", err)
	}
	if took := time.Since(t0); took > 5*time.Second {
		t.Errorf("never-answering hub took %v with a 200 ms header timeout", took)
	}
}

// TestHubCorruptCache: a byte flipped in a cached model file is noticed:
// online it is downloaded again, offline it is a clear error.
func TestHubCorruptCache(t *testing.T) {
	for _, file := range []string{"model.onnx", "config.json"} { // LFS (pinned) and plain (learned hash)
		f := newFakeHub(t, false)
		srvURL := f.serve(t)
		cache := t.TempDir()
		hub := &model.Hub{Endpoint: srvURL, CacheDir: cache}
		dir, err := hub.Resolve(context.Background(), "hf://org/model")
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, file)
		st, _ := os.Stat(p)
		fh, _ := os.OpenFile(p, os.O_RDWR, 0)
		b := make([]byte, 1)
		fh.ReadAt(b, 3)
		fh.WriteAt([]byte{b[0] ^ 4}, 3)
		fh.Close()
		os.Chtimes(p, st.ModTime(), st.ModTime())

		off := &model.Hub{CacheDir: cache, Offline: true}
		if _, err := off.Resolve(context.Background(), "hf://org/model"); err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: offline use of a corrupt file: %v; want an error naming %s", file, err, p)
		}
		before := f.gets[file]
		if _, err := hub.Resolve(context.Background(), "hf://org/model"); err != nil {
			t.Fatal(err)
		}
		if f.gets[file] != before+1 {
			t.Errorf("%s: corrupt cached file not downloaded again (%d -> %d GETs)", file, before, f.gets[file])
		}
		if got, _ := os.ReadFile(p); string(got) != string(f.files[file]) {
			t.Errorf("%s: still corrupt", file)
		}
	}
}

// rewrite decodes the folder's model.onnx, lets f change it and writes it back.
func rewrite(t *testing.T, dir string, f func(m *onnxpb.Model)) {
	t.Helper()
	p := filepath.Join(dir, "model.onnx")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	m, err := onnxpb.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	f(m)
	if err := os.WriteFile(p, onnxpb.Encode(m), 0o644); err != nil {
		t.Fatal(err)
	}
}

// setConfig sets one field of the folder's config.json.
func setConfig(t *testing.T, dir, field string, v any) {
	t.Helper()
	p := filepath.Join(dir, "config.json")
	b, _ := os.ReadFile(p)
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	c[field] = v
	b, _ = json.Marshal(c)
	os.WriteFile(p, b, 0o644)
}

// TestConfigContradictsGraph: a config.json whose vocab_size or
// hidden_size differs from the graph is an error naming both values.
func TestConfigContradictsGraph(t *testing.T) {
	dir := gen(t, "bert")
	m, err := model.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	rows := m.EmbeddingRows
	setConfig(t, dir, "vocab_size", rows+7)
	_, err = model.Open(dir)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("vocab_size %d", rows+7)) || !strings.Contains(err.Error(), fmt.Sprintf("%d rows", rows)) {
		t.Fatalf("vocab_size %d vs %d rows: %v", rows+7, rows, err)
	}
	setConfig(t, dir, "vocab_size", rows)
	setConfig(t, dir, "hidden_size", 32)
	_, err = model.Open(dir)
	if err == nil || !strings.Contains(err.Error(), "hidden_size 32") || !strings.Contains(err.Error(), "16 wide") {
		t.Fatalf("hidden_size 32 vs a 16-wide graph: %v", err)
	}
	// embedding_size (ALBERT, ELECTRA) is what the embedding table is compared with.
	setConfig(t, dir, "embedding_size", 16)
	rewrite(t, dir, func(g *onnxpb.Model) { g.Graph.Outputs[0].Shape = nil }) // output width unknown statically
	if _, err := model.Open(dir); err != nil {
		t.Fatalf("embedding_size 16 with a 16-wide table: %v", err)
	}
}

// TestCheckRuntime: ONNX Runtime loads and runs the graph at load time; a
// graph that only ONNX Runtime can find broken, and a hidden_size that
// only a run reveals, fail there with the model named.
func TestCheckRuntime(t *testing.T) {
	lib := testenv.ORTLib(t)
	dir := gen(t, "bert")
	m, err := model.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.CheckRuntime(lib); err != nil {
		t.Fatalf("a good model: %v", err)
	}

	broken := gen(t, "bert")
	rewrite(t, broken, func(g *onnxpb.Model) {
		for i := range g.Graph.Nodes {
			if g.Graph.Nodes[i].OpType == "MatMul" {
				g.Graph.Nodes[i].OpType = "NoSuchOperator"
				break
			}
		}
	})
	m, err = model.Open(broken) // the structure is fine
	if err != nil {
		t.Fatal(err)
	}
	if err := m.CheckRuntime(lib); err == nil || !strings.Contains(err.Error(), broken) || !strings.Contains(err.Error(), "NoSuchOperator") {
		t.Fatalf("unknown operator: %v; want an error naming the folder and the operator", err)
	}

	wide := gen(t, "bert")
	rewrite(t, wide, func(g *onnxpb.Model) { g.Graph.Outputs[0].Shape = nil })
	setConfig(t, wide, "hidden_size", 24)
	setConfig(t, wide, "embedding_size", 16) // the table matches; only a run shows the output width
	m, err = model.Open(wide)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.CheckRuntime(lib); err == nil || !strings.Contains(err.Error(), "hidden_size 24") || !strings.Contains(err.Error(), "16 wide") {
		t.Fatalf("hidden_size 24 vs 16-wide vectors: %v", err)
	}
}
