package stages

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lair-ir/lair/eval/evaltest"
	"github.com/lair-ir/lair/pipeline"
	"github.com/lair-ir/lair/tables"
)

// TestDegenerateEmbeddingsCounted: a zero and a NaN embedding do not stop
// the run: the encode stage writes the NaN one as zero and lists both, and
// retrieve/dense's log names them, meta.json counts them, and the
// counts reach metrics.parquet's metadata and the report page.
func TestDegenerateEmbeddingsCounted(t *testing.T) {
	r := pipeline.NewRegistry()
	registerEval(r)
	ctx := context.Background()
	ds := evaltest.Make("xquad-r", []string{"en", "de"}, 8, 4, 4)
	dsDir := filepath.Join(t.TempDir(), "ds")
	if err := ds.Write(dsDir); err != nil {
		t.Fatal(err)
	}
	e := ds.Embed(8, 0.8, 0.4, 2)
	var zeroID, nanID string
	for i, id := range e.IDs {
		switch {
		case e.Roles[i] == tables.RolePassage && zeroID == "":
			zeroID = id
			clear(e.Vector(i))
		case e.Roles[i] == tables.RoleQuery && nanID == "":
			nanID = id
			e.Vector(i)[0] = float32(math.NaN())
		}
	}
	// What the encode stage does before writing: non-finite vectors become zero, both are listed.
	if got := zeroDegenerate(e); strings.Join(got, ";") != "query "+nanID+": non-finite;passage "+zeroID+": zero" {
		t.Fatalf("zeroDegenerate = %v", got)
	}
	embDir := filepath.Join(t.TempDir(), "emb")
	os.MkdirAll(embDir, 0o755)
	if err := tables.WriteEmbeddings(embDir, e); err != nil {
		t.Fatal(err)
	}
	dsArt := pipeline.Artifact{Kind: pipeline.KindDataset, Stage: "xquad_r", Dir: dsDir}
	dense := evalCtx(t, r, "retrieve/dense", "retrieve", nil, pipeline.Artifact{Kind: pipeline.KindEmbeddings, Stage: "enc", Dir: embDir}, dsArt)
	var log bytes.Buffer
	dense.Log = slog.New(slog.NewTextHandler(&log, nil))
	if err := dense.Type.Run(ctx, dense); err != nil {
		t.Fatalf("a zero and a NaN embedding stopped the stage: %v", err)
	}
	for _, want := range []string{"degenerate embeddings", "queries=1 passages=1", "query " + nanID + " (row 0): zero vector", "passage " + zeroID, "degenerate_queries=1 degenerate_passages=1"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("stage log lacks %q:\n%s", want, log.String())
		}
	}
	var meta struct {
		Degenerate struct {
			Queries, Passages int
			IDs               []string
		} `json:"degenerate_embeddings"`
	}
	b, _ := os.ReadFile(filepath.Join(dense.OutDir, "meta.json"))
	if err := json.Unmarshal(b, &meta); err != nil || meta.Degenerate.Queries != 1 || meta.Degenerate.Passages != 1 ||
		len(meta.Degenerate.IDs) != 2 || meta.Degenerate.IDs[0] != "query:"+nanID+":zero" || meta.Degenerate.IDs[1] != "passage:"+zeroID+":zero" {
		t.Errorf("meta.json: %v %+v", err, meta)
	}
	ev := evalCtx(t, r, "eval/lareqa", "eval", nil, pipeline.Artifact{Kind: pipeline.KindRankings, Stage: dense.Name, Dir: dense.OutDir}, dsArt)
	if err := ev.Type.Run(ctx, ev); err != nil {
		t.Fatal(err)
	}
	md, _ := tables.Metadata(filepath.Join(ev.OutDir, "metrics.parquet"))
	if md["degenerate_embeddings"] != "enc: 1 queries, 1 passages" {
		t.Errorf("metrics.parquet degenerate_embeddings = %q", md["degenerate_embeddings"])
	}
	rep := evalCtx(t, r, "report/html", "report", map[string]any{"permutations": 100, "bootstrap": 50},
		pipeline.Artifact{Kind: pipeline.KindMetrics, Stage: "eval", Dir: ev.OutDir})
	if err := rep.Type.Run(ctx, rep); err != nil {
		t.Fatal(err)
	}
	html, _ := os.ReadFile(filepath.Join(rep.OutDir, "report.html"))
	if !strings.Contains(string(html), "ranked last): enc: 1 queries, 1 passages.") {
		t.Error("report.html lacks the degenerate-embedding line")
	}
}
