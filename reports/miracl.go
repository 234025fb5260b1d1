package reports

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/lair-ir/lair/datasets/miracl"
	"github.com/lair-ir/lair/eval"
	"github.com/lair-ir/lair/tables"
)

// Files of the report/miracl artifact.
const (
	MIRACLReportFile  = "report.md"
	MIRACLMetricsFile = "metrics.parquet"
)

// WriteMIRACL writes the MIRACL report artifact into dir: report.md
// (MIRACLTable) and metrics.parquet (every input row).
func WriteMIRACL(dir string, ms []tables.Metric) error {
	md, err := MIRACLTable(ms)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, MIRACLReportFile), []byte(md), 0o644); err != nil {
		return err
	}
	return tables.Write(filepath.Join(dir, MIRACLMetricsFile), ms, nil)
}

// MIRACLBaselineMetrics are the published MIRACL dev baselines
// (miracl.Baselines) of the given languages as metric rows (setting mono,
// one row per language and metric) plus each baseline's mean over those
// languages (q_lang all): the metrics of reference/miracl.
func MIRACLBaselineMetrics(langs []string) []tables.Metric {
	var rows []tables.Metric
	sum := map[string][2]float64{}
	n := map[string]int64{}
	for _, b := range miracl.Baselines {
		if !slices.Contains(langs, b.Lang) {
			continue
		}
		rows = append(rows,
			tables.Metric{RunID: b.RunID, Dataset: miracl.Name, Setting: eval.Mono, QLang: b.Lang, CLang: b.Lang, Metric: "ndcg@10", Value: b.NDCG10},
			tables.Metric{RunID: b.RunID, Dataset: miracl.Name, Setting: eval.Mono, QLang: b.Lang, CLang: b.Lang, Metric: "r@100", Value: b.Recall100})
		v := sum[b.RunID]
		sum[b.RunID] = [2]float64{v[0] + b.NDCG10, v[1] + b.Recall100}
		n[b.RunID]++
	}
	for _, run := range slices.Sorted(func(yield func(string) bool) {
		for r := range sum {
			if !yield(r) {
				return
			}
		}
	}) {
		v := sum[run]
		rows = append(rows,
			tables.Metric{RunID: run, Dataset: miracl.Name, Setting: eval.Mono, QLang: eval.All, CLang: eval.All, Metric: "ndcg@10", Value: v[0] / float64(n[run]), N: n[run]},
			tables.Metric{RunID: run, Dataset: miracl.Name, Setting: eval.Mono, QLang: eval.All, CLang: eval.All, Metric: "r@100", Value: v[1] / float64(n[run]), N: n[run]})
	}
	return rows
}

// MIRACLTable renders the MIRACL metrics (setting mono) as Markdown tables.
func MIRACLTable(ms []tables.Metric) (string, error) {
	type key struct{ run, lang, metric string }
	val := map[key]float64{}
	runs, langs := map[string]bool{}, map[string]bool{}
	for _, m := range ms {
		if m.Dataset != miracl.Name || m.Setting != eval.Mono || m.CLang != m.QLang || (m.Metric != "ndcg@10" && m.Metric != "r@100") {
			continue
		}
		val[key{m.RunID, m.QLang, m.Metric}] = m.Value
		runs[m.RunID] = true
		langs[m.QLang] = true
	}
	if len(runs) == 0 {
		return "", errors.New("no MIRACL nDCG@10 or Recall@100 rows in the inputs (want eval/miracl and reference/miracl metrics)")
	}
	rs := slices.Sorted(func(y func(string) bool) {
		for r := range runs {
			if !y(r) {
				return
			}
		}
	})
	var ls []string
	for _, l := range miracl.Languages {
		if langs[l] {
			ls = append(ls, l)
		}
	}
	if langs[eval.All] {
		ls = append(ls, eval.All)
	}
	var b strings.Builder
	b.WriteString("# MIRACL dev\n\nnDCG@10 and Recall@100 at retrieval depth 1000; `all` is the mean over the languages shown. " +
		"Rows named `(pyserini 2CR)` are published baselines: " + miracl.BaselineSource + "\n")
	for _, metric := range []string{"ndcg@10", "r@100"} {
		fmt.Fprintf(&b, "\n## %s\n\n| lang | %s |\n|---|%s\n", metric, strings.Join(rs, " | "), strings.Repeat("---:|", len(rs)))
		for _, l := range ls {
			fmt.Fprintf(&b, "| %s |", l)
			for _, r := range rs {
				if v, ok := val[key{r, l, metric}]; ok {
					fmt.Fprintf(&b, " %.4f |", v)
				} else {
					b.WriteString(" – |")
				}
			}
			b.WriteString("\n")
		}
	}
	b.WriteString("\n## The paper (mean nDCG@10 over the 18 languages)\n\n| model | batching | nDCG@10 |\n|---|---|---:|\n")
	for _, p := range PaperRows {
		if p.Dataset == miracl.Name {
			fmt.Fprintf(&b, "| %s | %s | %.3f |\n", p.Init, p.Sampling, p.NDCG10)
		}
	}
	return b.String(), nil
}
