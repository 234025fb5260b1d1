package stages

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lair-ir/lair/tables"
)

// writeShard writes one shard's results for two queries.
func writeShard(t *testing.T, dir string, shard, shards int32, top []string, scores []float32, ahead []int32) string {
	t.Helper()
	p := filepath.Join(dir, fmt.Sprintf("s%d-%d.parquet", shard, len(top)))
	rows := []shardRow{
		{RunID: "dense", Dataset: "miracl", Lang: "sw", Shard: shard, Shards: shards, Passages: 10, QID: "q1",
			RelCIDs: []string{"r1", "r2"}, RelGrades: []int32{1, 2}, RelScores: []float32{.5, .9}, RelAhead: ahead, TopCIDs: top, TopScores: scores},
		{RunID: "dense", Dataset: "miracl", Lang: "sw", Shard: shard, Shards: shards, Passages: 10, QID: "q2"},
	}
	if err := tables.Write(p, rows, nil); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestMergeGroup(t *testing.T) {
	dir := t.TempDir()
	a := writeShard(t, dir, 0, 2, []string{"d", "r2", "b"}, []float32{1, .9, .5}, []int32{2, 1})
	b := writeShard(t, dir, 1, 2, []string{"a", "c", "r1"}, []float32{.9, .9, .5}, []int32{3, 0})
	rows, n, err := mergeGroup(runLang{"dense", "sw"}, []string{a, b}, 4)
	if err != nil {
		t.Fatal(err)
	}
	if n != 20 || len(rows) != 1 { // q2 has no relevant passage: no row
		t.Fatalf("%d passages, %d rows", n, len(rows))
	}
	r := rows[0]
	// Top: d(1), then the .9 tie by id: a, c, r2.
	if strings.Join(r.TopCIDs, ",") != "d,a,c,r2" || r.PoolSize != 20 {
		t.Errorf("top %v, pool %d", r.TopCIDs, r.PoolSize)
	}
	// Ranks: 1 + the passages ahead summed over shards: r2 1+0 -> 2, r1 2+3 -> 6.
	if strings.Join(r.RelCIDs, ",") != "r2,r1" || fmt.Sprint(r.RelRanks) != "[2 6]" || fmt.Sprint(r.RelGrades) != "[2 1]" {
		t.Errorf("rel %v ranks %v grades %v", r.RelCIDs, r.RelRanks, r.RelGrades)
	}
	if _, _, err := mergeGroup(runLang{"dense", "sw"}, []string{a}, 4); err == nil || !strings.Contains(err.Error(), "shard(s) 1 of 2 missing") {
		t.Errorf("missing shard: err = %v", err)
	}
	if _, _, err := mergeGroup(runLang{"dense", "sw"}, []string{a, a}, 4); err == nil || !strings.Contains(err.Error(), "shard 0 appears twice") {
		t.Errorf("duplicate shard: err = %v", err)
	}
	c := writeShard(t, dir, 1, 3, []string{"x"}, []float32{1}, []int32{0, 0})
	if _, _, err := mergeGroup(runLang{"dense", "sw"}, []string{a, c}, 4); err == nil || !strings.Contains(err.Error(), "disagree on the number of shards") {
		t.Errorf("shard counts: err = %v", err)
	}
}

func TestShardOf(t *testing.T) {
	counts := make([]int, 4)
	for i := 0; i < 4000; i++ {
		counts[ShardOf(fmt.Sprintf("%d#%d", i/7, i%7), 4)]++
	}
	for s, c := range counts {
		if c < 850 || c > 1150 {
			t.Errorf("shard %d has %d of 4000 ids: unbalanced %v", s, c, counts)
		}
	}
	if ShardOf("12#3", 5) != ShardOf("12#3", 5) || ShardOf("x", 1) != 0 {
		t.Error("ShardOf not a function of the id")
	}
}

func TestMiraclTable(t *testing.T) {
	ms := []tables.Metric{
		{RunID: "dense", Dataset: "miracl", Setting: "mono", QLang: "sw", CLang: "sw", Metric: "ndcg@10", Value: .25},
		{RunID: "dense", Dataset: "miracl", Setting: "mono", QLang: "all", CLang: "all", Metric: "ndcg@10", Value: .25},
		{RunID: "bm25 (pyserini 2CR)", Dataset: "miracl", Setting: "mono", QLang: "sw", CLang: "sw", Metric: "r@100", Value: .7008},
		{RunID: "dense", Dataset: "xquad-r", Setting: "mono", QLang: "sw", CLang: "sw", Metric: "ndcg@10", Value: .9},
	}
	md, err := miraclTable(ms)
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
	if _, err := miraclTable(nil); err == nil {
		t.Error("empty input accepted")
	}
}
