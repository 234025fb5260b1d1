package shard

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/lair-ir/lair/datasets"
	"github.com/lair-ir/lair/tables"
)

// writeEmb writes a streamed embeddings artifact: the queries first, then
// the passages, each vector (i, i+0.5).
func writeEmb(t *testing.T, dir string, queries, passages []string) {
	t.Helper()
	w, err := tables.CreateEmbeddingsArtifact(dir, 2, "m")
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range append(append([]string{}, queries...), passages...) {
		role := tables.RolePassage
		if i < len(queries) {
			role = tables.RoleQuery
		}
		if err := w.Write([]string{id}, []string{role}, []string{"sw"}, []float32{float32(i), float32(i) + .5}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestGather(t *testing.T) {
	root := t.TempDir()
	a, b, out := filepath.Join(root, "a"), filepath.Join(root, "b"), filepath.Join(root, "out")
	for _, d := range []string{a, b, out} {
		if err := mkdir(d); err != nil {
			t.Fatal(err)
		}
	}
	writeEmb(t, a, []string{"q1", "q2"}, []string{"p1", "p2"})
	writeEmb(t, b, []string{"q1", "q2"}, []string{"p3", "q1"}) // a passage may share a query's id
	qrels := []tables.Qrel{{QID: "q1", CID: "p1", Relevance: 1}, {QID: "q1", CID: "q1", Relevance: 2}, {QID: "q2", CID: "p2", Relevance: 0}, {QID: "q2", CID: "p9", Relevance: 1}}
	shards := 0
	gs, err := Gather(context.Background(), qrels, []Input{{"enc[0]", a}, {"enc[1]", b}}, out, func(n int) { shards += n })
	if err != nil {
		t.Fatal(err)
	}
	if gs != (GatherStats{RelevantFound: 2, RelevantJudged: 3, Rows: 4}) || shards != 2 || !IsGather(out) {
		t.Errorf("stats %+v, %d shards, marked %v", gs, shards, IsGather(out))
	}
	m, err := tables.MapEmbeddingsArtifact(out)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	// queries from the first shard, p1 from a (row 2), the passage q1 from b (row 3): bit for bit
	want := map[string][]float32{"query q1": {0, .5}, "query q2": {1, 1.5}, "passage p1": {2, 2.5}, "passage q1": {3, 3.5}}
	got := map[string][]float32{}
	for i, id := range m.IDs {
		got[m.Roles[i]+" "+id] = append([]float32(nil), m.Vector(i)...)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("gathered %v, want %v", got, want)
	}
	// a passage in two shards is an error naming both
	c := filepath.Join(root, "c")
	mkdir(c)
	writeEmb(t, c, []string{"q1"}, []string{"p1"})
	out2 := filepath.Join(root, "out2")
	mkdir(out2)
	if _, err := Gather(context.Background(), qrels, []Input{{"enc[0]", a}, {"enc[2]", c}}, out2, nil); err == nil ||
		!strings.Contains(err.Error(), "passage p1 is in enc[0] and in enc[2]: shards must not overlap") {
		t.Errorf("overlap: %v", err)
	}
}

func TestCollectBM25(t *testing.T) {
	root := t.TempDir()
	var ins []Input
	for i, cands := range [][]tables.Candidate{
		{{Dataset: "miracl", CID: "d1", Lang: "sw", Text: "nyumba kubwa"}, {Dataset: "miracl", CID: "d2", Lang: "sw", Text: "nyumba"}},
		{{Dataset: "miracl", CID: "d3", Lang: "sw", Text: "mti mkubwa sana"}},
	} {
		dir := filepath.Join(root, string(rune('a'+i)))
		mkdir(dir)
		qs := []tables.Query{{Dataset: "miracl", QID: "q1", Lang: "sw", Text: "nyumba"}}
		qrels := []tables.Qrel{{QID: "q1", CID: "d2", Relevance: 1}, {QID: "q1", CID: "d3", Relevance: 0}, {QID: "q1", CID: "gone", Relevance: 1}}
		if err := datasets.WriteQueries(dir, qs, nil); err != nil {
			t.Fatal(err)
		}
		datasets.WriteQrels(dir, qrels, nil)
		datasets.WriteCandidates(dir, cands, nil)
		WriteInfo(dir, Info{Dataset: "miracl", Lang: "sw", Shard: i, Shards: 2})
		ins = append(ins, Input{Name: "shard", Dir: dir})
	}
	c, err := CollectBM25(context.Background(), ins, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	// documents and tokens summed over the shards; each term's df over all documents
	if c.Totals.Docs["sw"] != 3 || c.Totals.Shards["sw"] != 2 || c.Totals.Tokens["sw"] != 6 {
		t.Errorf("totals %+v", c.Totals)
	}
	df := map[string]int64{}
	for _, r := range c.Stats {
		df[r.Term] = r.DF
	}
	if df["nyumba"] != 2 || df["mti"] != 1 {
		t.Errorf("df %v", df)
	}
	// judged passages found (any grade), by id; the qrels row of the passage missing from the corpus dropped
	var ids []string
	for _, x := range c.Candidates {
		ids = append(ids, x.CID)
	}
	if strings.Join(ids, " ") != "d2 d3" || c.Dropped != 1 || len(c.Qrels) != 2 || len(c.Queries) != 1 {
		t.Errorf("candidates %v, dropped %d, qrels %v, queries %d", ids, c.Dropped, c.Qrels, len(c.Queries))
	}
	// the statistics read back as one index over both shards
	dir := t.TempDir()
	if err := WriteBM25Stats(dir, c.Stats, c.Totals); err != nil {
		t.Fatal(err)
	}
	st, err := ReadBM25Stats(dir, "sw")
	if err != nil || st.Docs != 3 || st.DF["nyumba"] != 2 {
		t.Errorf("read back %+v, %v", st, err)
	}
}

func mkdir(d string) error { return os.MkdirAll(d, 0o755) }
