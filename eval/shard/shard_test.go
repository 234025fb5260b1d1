package shard

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeShard writes one shard's results for two queries.
func writeShard(t *testing.T, dir string, shard, shards int32, top []string, scores []float32, ahead []int32) string {
	t.Helper()
	p := filepath.Join(dir, fmt.Sprintf("s%d-%d", shard, len(top)))
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
	rows := []Row{
		{RunID: "dense", Dataset: "miracl", Lang: "sw", Shard: shard, Shards: shards, Passages: 10, QID: "q1",
			RelCIDs: []string{"r1", "r2"}, RelGrades: []int32{1, 2}, RelScores: []float32{.5, .9}, RelAhead: ahead, TopCIDs: top, TopScores: scores},
		{RunID: "dense", Dataset: "miracl", Lang: "sw", Shard: shard, Shards: shards, Passages: 10, QID: "q2"},
	}
	if err := WriteRows(p, rows, Info{Dataset: "miracl", Lang: "sw", Shard: int(shard), Shards: int(shards), Passages: 10}); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestMergeGroup(t *testing.T) {
	dir := t.TempDir()
	a := writeShard(t, dir, 0, 2, []string{"d", "r2", "b"}, []float32{1, .9, .5}, []int32{2, 1})
	b := writeShard(t, dir, 1, 2, []string{"a", "c", "r1"}, []float32{.9, .9, .5}, []int32{3, 0})
	rows, n, err := Merge("dense", "sw", []string{a, b}, 4)
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
	if _, _, err := Merge("dense", "sw", []string{a}, 4); err == nil || !strings.Contains(err.Error(), "shard(s) 1 of 2 missing") {
		t.Errorf("missing shard: err = %v", err)
	}
	if _, _, err := Merge("dense", "sw", []string{a, a}, 4); err == nil || !strings.Contains(err.Error(), "shard 0 appears twice") {
		t.Errorf("duplicate shard: err = %v", err)
	}
	c := writeShard(t, dir, 1, 3, []string{"x"}, []float32{1}, []int32{0, 0})
	if _, _, err := Merge("dense", "sw", []string{a, c}, 4); err == nil || !strings.Contains(err.Error(), "disagree on the number of shards") {
		t.Errorf("shard counts: err = %v", err)
	}
}

func TestShardFiles(t *testing.T) {
	dir := t.TempDir()
	if _, ok, err := ReadInfo(dir); ok || err != nil {
		t.Errorf("ReadInfo of a plain artifact: ok %v, err %v", ok, err)
	}
	if _, err := RequireInfo(dir); err == nil || !strings.Contains(err.Error(), "has no shard.json: the dataset input must come from corpus/shard") {
		t.Errorf("RequireInfo: %v", err)
	}
	si := Info{Dataset: "miracl", Lang: "yo", Shard: 1, Shards: 3, Passages: 42, Files: 2}
	if err := WriteInfo(dir, si); err != nil {
		t.Fatal(err)
	}
	if got, err := RequireInfo(dir); err != nil || got != si {
		t.Errorf("RequireInfo = %+v, %v; want %+v", got, err, si)
	}
	if IsGather(dir) || HasBM25Stats(dir) {
		t.Error("a shard artifact taken for a gather or bm25-stats one")
	}
	if err := WriteGather(dir, map[string]int{"rows": 3}); err != nil || !IsGather(dir) {
		t.Errorf("WriteGather: %v", err)
	}
	rows := []StatRow{{Lang: "de", Term: "haus", DF: 3}, {Lang: "yo", Term: "ile", DF: 5}, {Lang: "yo", Term: "omi", DF: 1}}
	tot := Totals{Docs: map[string]int64{"de": 10, "yo": 20}, Tokens: map[string]int64{"de": 100, "yo": 300}, Shards: map[string]int{"de": 1, "yo": 3}}
	if err := WriteBM25Stats(dir, rows, tot); err != nil || !HasBM25Stats(dir) {
		t.Fatalf("WriteBM25Stats: %v", err)
	}
	st, err := ReadBM25Stats(dir, "yo")
	if err != nil || st.Docs != 20 || st.Tokens != 300 || len(st.DF) != 2 || st.DF["ile"] != 5 || st.DF["omi"] != 1 {
		t.Errorf("ReadBM25Stats(yo) = %+v, %v", st, err)
	}
	if _, err := ReadBM25Stats(dir, "sw"); err == nil || !strings.Contains(err.Error(), "no statistics for sw") {
		t.Errorf("missing language: %v", err)
	}
	// the layout is read by earlier runs' artifacts: keep the names
	for _, f := range []string{"shard.json", "gather.json", "bm25_stats.parquet", "bm25_stats.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("layout: %v", err)
		}
	}
	if _, err := ReadHead(dir); err == nil || !strings.Contains(err.Error(), "shard_rankings.parquet") {
		t.Errorf("ReadHead without rows: %v", err)
	}
}

func TestOf(t *testing.T) {
	counts := make([]int, 4)
	for i := 0; i < 4000; i++ {
		counts[Of(fmt.Sprintf("%d#%d", i/7, i%7), 4)]++
	}
	for s, c := range counts {
		if c < 850 || c > 1150 {
			t.Errorf("shard %d has %d of 4000 ids: unbalanced %v", s, c, counts)
		}
	}
	if Of("12#3", 5) != Of("12#3", 5) || Of("x", 1) != 0 {
		t.Error("Of not a function of the id")
	}
}
