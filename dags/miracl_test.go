package dags_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/lair-ir/lair/datasets/miracl"
	"github.com/lair-ir/lair/eval"
	"github.com/lair-ir/lair/internal/cli"
	"github.com/lair-ir/lair/internal/testenv"
	"github.com/lair-ir/lair/tables"
)

// TestMIRACLShardedReduced runs dags/miracl.yaml end to end on a
// generated corpus in the official layout (real MIRACL topics and qrels of
// three languages, a passage for every judged docid, filler passages) cut
// into 3 shards, with a random-weight static encoder:
//
//   - a language without corpus files fails its corpus/shard instances
//     with the language and the paths looked at, while the other
//     languages' shards complete; once the files exist, the re-run runs
//     only what had not completed;
//   - the merged dense and BM25 rankings equal, row for row (top-1000
//     lists with ties, exact ranks), those of the same DAG with one shard;
//   - eval/miracl reports nDCG@10 and Recall@100 for both systems next to
//     the published reference rows.
//
// LAIR_MIRACL_PASSAGES sets passages per language (default 3000; the
// benchmark in bench/RESULTS.md uses 66667, i.e. 200,000 in all).
func TestMIRACLShardedReduced(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end run")
	}
	mirror := testenv.RawDir(t)
	testenv.ORTLib(t)
	perLang := 3000
	if n, err := strconv.Atoi(os.Getenv("LAIR_MIRACL_PASSAGES")); err == nil && n > 0 {
		perLang = n
	}
	langs := []string{"de", "sw", "yo"}
	work := t.TempDir()
	corpus := filepath.Join(work, "corpus")
	src, err := os.ReadFile("miracl.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dagText := strings.Replace(string(src), `model: {uses: model/load, with: {model: "${params.model}"}}`,
		`model: {uses: model/generate, with: {arch: static, hidden: 64}}`, 1)
	if dagText == string(src) {
		t.Fatal("miracl.yaml has no model/load stage to replace")
	}
	// Small encoding chunks, so that the streamed encoding crosses chunk boundaries.
	withChunk := strings.Replace(dagText, `passage_prefix: ""}`, `passage_prefix: "", chunk: 700}`, 1)
	if withChunk == dagText {
		t.Fatal("miracl.yaml's encode stage has no passage_prefix to extend")
	}
	dagText = withChunk
	dag := filepath.Join(work, "miracl.yaml")
	if err := os.WriteFile(dag, []byte(dagText), 0o644); err != nil {
		t.Fatal(err)
	}
	gen := func(l string) {
		f := miracl.Files{Topics: filepath.Join(mirror, "miracl", miracl.TopicsFile(l)), Qrels: filepath.Join(mirror, "miracl", miracl.QrelsFile(l))}
		if _, err := miracl.GenerateCorpus(context.Background(), corpus, l, f, perLang, 2, 7); err != nil {
			t.Fatal(err)
		}
	}
	gen("de")
	gen("sw") // yo comes later
	run := func(shards int) (string, string, int) {
		ids := make([]string, shards)
		for i := range ids {
			ids[i] = fmt.Sprint(i)
		}
		args := []string{"run", dag, "--mirror", mirror, "--cache", filepath.Join(work, "cache"), "--quiet",
			"--set", "corpus_dir=" + corpus, "--set", "langs=" + strings.Join(langs, ","),
			"--set", "shards=" + fmt.Sprint(shards), "--set", "shard_ids=" + strings.Join(ids, ","), "--set", "k=1000"}
		var stdout, stderr bytes.Buffer
		code := cli.Run(context.Background(), &stdout, &stderr, args, registry())
		return stdout.String(), stderr.String(), code
	}
	out, errOut, code := run(3)
	if code == 0 {
		t.Fatalf("run without the yo corpus succeeded:\n%s", out)
	}
	all := out + errOut
	for _, want := range []string{"corpus missing for yo", filepath.Join(corpus, "yo", "docs-*.jsonl.gz"), filepath.Join(corpus, "miracl-corpus-v1.0-yo", "docs-*.jsonl.gz")} {
		if !strings.Contains(all, want) {
			t.Errorf("failure output lacks %q:\n%s", want, all)
		}
	}
	gen("yo")
	out, errOut, code = run(3)
	if code != 0 {
		t.Fatalf("lair run exited %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	// The de and sw shards (3 corpus/shard + 3 encode/shard each) were
	// done by the failed run and are not redone.
	if m := regexp.MustCompile(`(\d+) ran, (\d+) cached`).FindStringSubmatch(out); m == nil {
		t.Errorf("no summary in:\n%s", out)
	} else if cached, _ := strconv.Atoi(m[2]); cached < 2+12 { // topics, model, 6 corpus/shard, 6 encode/shard
		t.Errorf("re-run after the failure cached %d instances, want >= 14 (the completed shards must not run again):\n%s", cached, out)
	}
	runDir := filepath.Join(work, ".lair", "runs", "latest")
	sharded := map[string][]eval.Ranking{}
	for _, sys := range []string{"dense_rankings", "bm25_rankings"} {
		sharded[sys] = readRankings(t, filepath.Join(runDir, sys, eval.RankingsFile))
	}
	metrics, err := tables.Read[tables.Metric](filepath.Join(runDir, "report", "metrics.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, m := range metrics {
		if m.QLang == eval.All && (m.Metric == "ndcg@10" || m.Metric == "r@100") {
			got[m.RunID+" "+m.Metric] = true
			if m.Value < 0 || m.Value > 1 {
				t.Errorf("%+v out of range", m)
			}
		}
	}
	for _, want := range []string{"dense ndcg@10", "dense r@100", "bm25 ndcg@10", "bm25 r@100", "bm25 (pyserini 2CR) ndcg@10", "mdpr (pyserini 2CR) r@100"} {
		if !got[want] {
			t.Errorf("report metrics lack %s (have %v)", want, got)
		}
	}
	// BM25 on passages that contain query words must find them far more
	// often than chance (100/perLang).
	floor := min(0.5, 20*100/float64(perLang))
	for _, m := range metrics {
		if m.RunID == "bm25" && m.QLang == eval.All && m.Metric == "r@100" && m.Value < floor {
			t.Errorf("bm25 recall@100 %.3f on a corpus built to be found (want >= %.3f)", m.Value, floor)
		}
	}

	// One shard: the same rankings.
	if out, errOut, code = run(1); code != 0 {
		t.Fatalf("one-shard run exited %d\n%s\n%s", code, out, errOut)
	}
	for _, sys := range []string{"dense_rankings", "bm25_rankings"} {
		whole := readRankings(t, filepath.Join(runDir, sys, eval.RankingsFile))
		if len(whole) != len(sharded[sys]) || len(whole) == 0 {
			t.Fatalf("%s: %d rows sharded, %d whole", sys, len(sharded[sys]), len(whole))
		}
		ties := 0
		for i := range whole {
			a, b := sharded[sys][i], whole[i]
			if !reflect.DeepEqual(a, b) {
				t.Fatalf("%s row %d (query %s) differs:\nsharded %+v\nwhole   %+v", sys, i, a.QID, brief(a), brief(b))
			}
			if len(b.TopCIDs) != min(1000, perLang) {
				t.Fatalf("%s query %s: %d hits, want %d", sys, b.QID, len(b.TopCIDs), min(1000, perLang))
			}
			for j := 1; j < len(b.TopScores); j++ {
				if b.TopScores[j] == b.TopScores[j-1] {
					ties++
				}
			}
		}
		t.Logf("%s: %d rows equal with 3 shards and with 1, %d tied neighbours in the top lists", sys, len(whole), ties)
	}
}

func readRankings(t *testing.T, path string) []eval.Ranking {
	t.Helper()
	var out []eval.Ranking
	if err := eval.ReadRankings(path, func(b []eval.Ranking) error {
		for _, r := range b {
			r.RelCIDs, r.RelLangs, r.TopCIDs = cloneStrings(r.RelCIDs), cloneStrings(r.RelLangs), cloneStrings(r.TopCIDs)
			r.RunID, r.QID = strings.Clone(r.RunID), strings.Clone(r.QID)
			out = append(out, r)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func cloneStrings(s []string) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = strings.Clone(x)
	}
	return out
}

func brief(r eval.Ranking) string {
	n := min(5, len(r.TopCIDs))
	return fmt.Sprintf("rel %v ranks %v top %v %v", r.RelCIDs, r.RelRanks, r.TopCIDs[:n], r.TopScores[:n])
}

// TestMIRACLExportArgo: every shard is its own Argo task, depending only
// on its own shard's upstream tasks, so the shards run as parallel steps.
func TestMIRACLExportArgo(t *testing.T) {
	out := filepath.Join(t.TempDir(), "wf.yaml")
	var stdout, stderr bytes.Buffer
	args := []string{"export", "argo", "miracl.yaml", "--store", "s3://bucket/lair", "--set", "langs=sw,yo", "--set", "shards=3", "--set", "shard_ids=0,1,2", "-o", out}
	if code := cli.Run(context.Background(), &stdout, &stderr, args, registry()); code != 0 {
		t.Fatalf("export exited %d: %s", code, stderr.String())
	}
	wf, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	text := string(wf)
	for _, l := range []string{"sw", "yo"} {
		for s := 0; s < 3; s++ {
			for _, stage := range []string{"shard", "encode", "dense", "bm25"} {
				name := fmt.Sprintf("%s-lang-%s-shard-%d", stage, l, s)
				if !strings.Contains(text, "- name: "+name+"\n") {
					t.Errorf("no task %s", name)
				}
			}
			// dense[lang,shard] depends on its own encode and shard, and on gather.
			i := strings.Index(text, fmt.Sprintf("- name: dense-lang-%s-shard-%d\n", l, s))
			if i < 0 {
				continue
			}
			task := text[i:]
			task = task[:strings.Index(task, "arguments:")]
			for _, dep := range []string{fmt.Sprintf("encode-lang-%s-shard-%d", l, s), fmt.Sprintf("shard-lang-%s-shard-%d", l, s), "gather"} {
				if !strings.Contains(task, "- "+dep+"\n") {
					t.Errorf("dense %s/%d does not depend on %s:\n%s", l, s, dep, task)
				}
			}
			if strings.Count(task, "encode-lang-") != 1 {
				t.Errorf("dense %s/%d depends on other shards' encodings:\n%s", l, s, task)
			}
		}
	}
}
