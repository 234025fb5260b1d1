package reports

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lair-ir/lair/datasets/miracl"
	"github.com/lair-ir/lair/tables"
)

func TestMIRACLTable(t *testing.T) {
	ms := []tables.Metric{
		{RunID: "dense", Dataset: "miracl", Setting: "mono", QLang: "sw", CLang: "sw", Metric: "ndcg@10", Value: .25},
		{RunID: "dense", Dataset: "miracl", Setting: "mono", QLang: "all", CLang: "all", Metric: "ndcg@10", Value: .25},
		{RunID: "bm25 (pyserini 2CR)", Dataset: "miracl", Setting: "mono", QLang: "sw", CLang: "sw", Metric: "r@100", Value: .7008},
		{RunID: "dense", Dataset: "xquad-r", Setting: "mono", QLang: "sw", CLang: "sw", Metric: "ndcg@10", Value: .9},
	}
	md, err := MIRACLTable(ms)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| lang | bm25 (pyserini 2CR) | dense |", "| sw | – | 0.2500 |", "| all | – | 0.2500 |", "| sw | 0.7008 | – |", "| LaBSE | Hybrid | 0.441 |"} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "0.9000") {
		t.Errorf("a non-MIRACL row leaked into the table:\n%s", md)
	}
	if _, err := MIRACLTable(nil); err == nil {
		t.Error("empty input accepted")
	}
}

func TestWriteMIRACL(t *testing.T) {
	dir := t.TempDir()
	ms := []tables.Metric{{RunID: "dense", Dataset: "miracl", Setting: "mono", QLang: "sw", CLang: "sw", Metric: "ndcg@10", Value: .25}}
	if err := WriteMIRACL(dir, ms); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(dir, "report.md"))
	if err != nil || !strings.Contains(string(md), "| sw | 0.2500 |") {
		t.Errorf("report.md: %v\n%s", err, md)
	}
	back, err := tables.Read[tables.Metric](filepath.Join(dir, "metrics.parquet"))
	if err != nil || len(back) != 1 || back[0] != ms[0] {
		t.Errorf("metrics.parquet: %v, %v", back, err)
	}
	if err := WriteMIRACL(t.TempDir(), nil); err == nil {
		t.Error("no MIRACL rows accepted")
	}
}

func TestMIRACLBaselineMetrics(t *testing.T) {
	rows := MIRACLBaselineMetrics([]string{"sw", "yo"})
	want := map[string][2]float64{} // run -> sum of nDCG@10, count
	for _, b := range miracl.Baselines {
		if b.Lang == "sw" || b.Lang == "yo" {
			w := want[b.RunID]
			want[b.RunID] = [2]float64{w[0] + b.NDCG10, w[1] + 1}
		}
	}
	if len(want) == 0 {
		t.Fatal("no baselines for sw and yo")
	}
	means := 0
	for _, r := range rows {
		if r.Dataset != "miracl" || r.Setting != "mono" || (r.Metric != "ndcg@10" && r.Metric != "r@100") {
			t.Errorf("row %+v", r)
		}
		if r.QLang != "all" {
			if r.QLang != r.CLang || (r.QLang != "sw" && r.QLang != "yo") {
				t.Errorf("language row %+v", r)
			}
			continue
		}
		if r.Metric == "ndcg@10" {
			means++
			w := want[r.RunID]
			if math.Abs(r.Value-w[0]/w[1]) > 1e-12 || r.N != int64(w[1]) {
				t.Errorf("%s mean nDCG@10 %v over %d, want %v over %v", r.RunID, r.Value, r.N, w[0]/w[1], w[1])
			}
		}
	}
	if means != len(want) {
		t.Errorf("%d mean rows, want one per baseline (%d)", means, len(want))
	}
}
