package pairs

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lair-ir/lair/datasets"
	"github.com/lair-ir/lair/datasets/lareqa"
	"github.com/lair-ir/lair/tables"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestTinyGolden: pairs from the tiny two-language LAReQA fixture, written
// and read back, against testdata/tiny-pairs.golden.
func TestTinyGolden(t *testing.T) {
	spec := lareqa.Spec{Name: "tiny", Languages: []string{"de", "en"}, License: "test"}
	r, err := lareqa.LoadFiles(context.Background(), spec, spec.Languages, map[string]string{
		"de": "../lareqa/testdata/tiny-de.json", "en": "../lareqa/testdata/tiny-en.json"})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, opt := range []Options{{ValidationFraction: 0.5, Seed: 3}, {Positive: PositiveSentenceWithContext, Languages: []string{"en"}}} {
		ps, st, err := FromDataset(&r.Dataset, opt)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		if err := Write(dir, ps, datasets.Meta{Dataset: "tiny", License: "test"}); err != nil {
			t.Fatal(err)
		}
		back, err := tables.Read[tables.Pair](filepath.Join(dir, datasets.PairsFile))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "options %+v stats %+v\n", opt, st)
		for _, p := range back {
			fmt.Fprintf(&b, "%s|%s|%s|%s|%s|%q|%s|%q|%q|%s\n", p.PairID, p.GroupID, p.Source, p.Kind, p.QLang, p.QText, p.PLang, p.PText, p.NegText, p.Split)
		}
		m, _ := os.ReadFile(filepath.Join(dir, datasets.MetaFile))
		b.Write(m)
	}
	const path = "testdata/tiny-pairs.golden"
	if *update {
		os.WriteFile(path, []byte(b.String()), 0o644)
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if b.String() != string(want) {
		t.Errorf("%s differs (go test -update rewrites it):\ngot\n%s", path, b.String())
	}
}
