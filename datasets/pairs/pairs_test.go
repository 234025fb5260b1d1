package pairs

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lair-ir/lair/datasets"
	"github.com/lair-ir/lair/datasets/lareqa"
	"github.com/lair-ir/lair/internal/testenv"
	"github.com/lair-ir/lair/tables"
)

func load(t testing.TB, spec lareqa.Spec) *datasets.Dataset {
	t.Helper()
	r, err := lareqa.LoadDir(context.Background(), spec, filepath.Join(testenv.RawDir(t), spec.Name), spec.Languages)
	if err != nil {
		t.Fatal(err)
	}
	return &r.Dataset
}

func TestXQuADRPairs(t *testing.T) {
	d := load(t, lareqa.XQuADR)
	ps, st, err := FromDataset(d, Options{ValidationFraction: 0.1, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	if st.Mono != 13090 || st.Cross != 130900 || len(ps) != 143990 {
		t.Fatalf("mono %d cross %d total %d, want 13090 130900 143990", st.Mono, st.Cross, len(ps))
	}
	// Every pair of a group in one split; no paragraph on both sides.
	splitOf := map[string]string{}
	for _, p := range ps {
		if s, ok := splitOf[p.GroupID]; ok && s != p.Split {
			t.Fatalf("group %s in two splits", p.GroupID)
		}
		splitOf[p.GroupID] = p.Split
		if (p.Kind == "mono") != (p.QLang == p.PLang) {
			t.Fatalf("pair %s: kind %s for %s-%s", p.PairID, p.Kind, p.QLang, p.PLang)
		}
	}
	cand := map[string]tables.Candidate{}
	for _, c := range d.Candidates {
		cand[c.CID] = c
	}
	q2g := map[string]string{}
	for _, q := range d.Queries {
		q2g[q.QID] = q.GroupID
	}
	docSplit := map[string]string{}
	for _, r := range d.Qrels {
		doc, s := cand[r.CID].DocID, splitOf[q2g[r.QID]]
		if prev, ok := docSplit[doc]; ok && prev != s {
			t.Fatalf("paragraph %s in both splits", doc)
		}
		docSplit[doc] = s
	}
	frac := float64(st.ValidationGroups) / float64(st.Groups)
	if frac < 0.09 || frac > 0.13 {
		t.Errorf("validation share %.3f of %d groups (%d units), want about 0.1", frac, st.Groups, st.Units)
	}
	// Seeded: same seed same split, other seed other split.
	ps2, _, _ := FromDataset(d, Options{ValidationFraction: 0.1, Seed: 7})
	ps3, _, _ := FromDataset(d, Options{ValidationFraction: 0.1, Seed: 8})
	same, diff := true, false
	for i := range ps {
		same = same && ps[i] == ps2[i]
		diff = diff || ps[i].Split != ps3[i].Split
	}
	if !same || !diff {
		t.Errorf("seeding: same-seed equal %v, other-seed differs %v", same, diff)
	}
}

func TestMLQARPairs(t *testing.T) {
	d := load(t, lareqa.MLQAR)
	ps, st, err := FromDataset(d, Options{Languages: []string{"de", "en"}, Positive: PositiveSentenceWithContext})
	if err != nil {
		t.Fatal(err)
	}
	if st.Train != int64(len(ps)) || st.Validation != 0 {
		t.Errorf("train %d validation %d", st.Train, st.Validation)
	}
	for _, p := range ps {
		if p.QLang != "de" && p.QLang != "en" || !strings.Contains(p.PText, "\n\n") {
			t.Fatalf("pair %+v", p)
		}
	}
	// de has 512 questions, en 1148; all de questions have an en translation:
	// mono de 512 + mono en 1148 + cross de-en 512 + en-de 512.
	if st.Mono != 512+1148 || st.Cross != 2*512 {
		t.Errorf("mono %d cross %d", st.Mono, st.Cross)
	}
}

func TestOptionsErrors(t *testing.T) {
	d := &datasets.Dataset{Meta: datasets.Meta{Dataset: "x", Languages: []string{"en"}}}
	for _, o := range []Options{{Positive: "paragraph"}, {ValidationFraction: 1}, {Languages: []string{"de"}}} {
		if _, _, err := FromDataset(d, o); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
}

func TestWriteReadRoundTrip(t *testing.T) {
	dir := t.TempDir()
	in := []tables.Pair{
		{PairID: "a", GroupID: "g", Source: "s", Kind: "mono", QLang: "en", QText: "q", PLang: "en", PText: "p", Split: "train"},
		{PairID: "b", GroupID: "g", Source: "s", Kind: "cross", QLang: "en", QText: "q", PLang: "de", PText: "p", NegText: "n", Split: "validation"},
	}
	if err := Write(dir, in, datasets.Meta{Dataset: "s", License: "test"}); err != nil {
		t.Fatal(err)
	}
	got, err := ReadFile(context.Background(), filepath.Join(dir, datasets.PairsFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != in[0] || got[1] != in[1] {
		t.Errorf("round trip: %+v", got)
	}
	// the artifact reader gives the same rows
	if got, err := Read(dir); err != nil || len(got) != 2 || got[0] != in[0] || got[1] != in[1] {
		t.Errorf("Read: %+v, %v", got, err)
	}
	if Path(dir) != filepath.Join(dir, "pairs.parquet") {
		t.Errorf("Path = %s", Path(dir))
	}
	m, _ := datasets.ReadMeta(dir)
	if m.Counts["mono"] != 1 || m.Counts["validation"] != 1 || strings.Join(m.Languages, ",") != "de,en" {
		t.Errorf("meta %+v", m)
	}
	kv, _ := tables.Metadata(filepath.Join(dir, datasets.PairsFile))
	if kv["license"] != "test" || kv["dataset"] != "s" {
		t.Errorf("parquet metadata %v", kv)
	}
}
