package miracl

import (
	"compress/gzip"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

// GenerateCorpus writes a synthetic corpus in the official layout,
// dir/<lang>/docs-<i>.jsonl.gz, for tests and benchmarks of the sharded
// pipeline: every docid judged in the language's qrels gets a passage
// (relevant ones share words with their query, so retrieval has something
// to find), and filler passages (docids "gen<n>#<m>") bring the language
// to perLang passages. Words come from the language's topics; the output
// depends only on the inputs and seed.
func GenerateCorpus(ctx context.Context, dir, lang string, files Files, perLang, filesPerLang int, seed uint64) (int, error) {
	topics, err := readFile(ctx, files.Topics, TopicsFile(lang), ReadTopics)
	if err != nil {
		return 0, err
	}
	js, err := readFile(ctx, files.Qrels, QrelsFile(lang), ReadQrels)
	if err != nil {
		return 0, err
	}
	query := map[string][]string{}
	var vocab []string
	for _, t := range topics {
		ws := strings.Fields(t.Query)
		query[t.QID] = ws
		vocab = append(vocab, ws...)
	}
	r := rand.New(rand.NewPCG(seed, uint64(len(lang))))
	words := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = vocab[r.IntN(len(vocab))]
		}
		return out
	}
	if err := os.MkdirAll(filepath.Join(dir, lang), 0o755); err != nil {
		return 0, err
	}
	filesPerLang = max(1, filesPerLang)
	type out struct {
		f  *os.File
		zw *gzip.Writer
	}
	outs := make([]out, filesPerLang)
	for i := range outs {
		f, err := os.Create(filepath.Join(dir, lang, fmt.Sprintf("docs-%d.jsonl.gz", i)))
		if err != nil {
			return 0, err
		}
		outs[i] = out{f, gzip.NewWriter(f)}
	}
	n := 0
	write := func(docid string, text []string) error {
		o := outs[n%filesPerLang]
		n++
		_, err := fmt.Fprintf(o.zw, "{\"docid\": %q, \"title\": %q, \"text\": %q}\n", docid, "Title "+strings.SplitN(docid, "#", 2)[0], strings.Join(text, " "))
		return err
	}
	seen := map[string]bool{}
	for _, j := range js {
		if seen[j.DocID] {
			continue
		}
		seen[j.DocID] = true
		text := words(20 + r.IntN(40))
		if j.Rel > 0 {
			q := query[j.QID]
			for k := 0; k < 3 && len(q) > 0; k++ {
				text[r.IntN(len(text))] = q[r.IntN(len(q))]
			}
		}
		if err := write(j.DocID, text); err != nil {
			return 0, err
		}
	}
	for i := 0; n < perLang; i++ {
		if err := write(fmt.Sprintf("gen%d#%d", i/4, i%4), words(20+r.IntN(40))); err != nil {
			return 0, err
		}
	}
	for _, o := range outs {
		if err := o.zw.Close(); err != nil {
			return 0, err
		}
		if err := o.f.Close(); err != nil {
			return 0, err
		}
	}
	return n, nil
}
