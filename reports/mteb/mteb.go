package mteb

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/lair-ir/lair/tables"
)

// Version is the mteb results format written (see the package doc).
const Version = "1.12.48"

// Revision is the revision folder name mteb uses when none is known.
const Revision = "no_revision_available"

// langScript maps ISO 639-1 codes to mteb's ISO 639-3 + script codes.
var langScript = map[string]string{
	"ar": "ara-Arab", "bn": "ben-Beng", "de": "deu-Latn", "el": "ell-Grek", "en": "eng-Latn", "es": "spa-Latn",
	"fa": "fas-Arab", "fi": "fin-Latn", "fr": "fra-Latn", "hi": "hin-Deva", "id": "ind-Latn", "ja": "jpn-Jpan",
	"ko": "kor-Hang", "ro": "ron-Latn", "ru": "rus-Cyrl", "sw": "swa-Latn", "te": "tel-Telu", "th": "tha-Thai",
	"tr": "tur-Latn", "vi": "vie-Latn", "yo": "yor-Latn", "zh": "zho-Hans",
}

// LangScript returns the mteb language code of an ISO 639-1 code; codes
// lair does not know are passed through with the "Zyyy" (undetermined)
// script and reported by ok = false.
func LangScript(code string) (s string, ok bool) {
	if s, ok := langScript[code]; ok {
		return s, true
	}
	return code + "-Zyyy", false
}

// MetricName returns the mteb name of a lair metric.
func MetricName(m string) string {
	name, k, ok := strings.Cut(m, "@")
	if !ok {
		switch m {
		case "map":
			return "map"
		}
		return "lair_" + m
	}
	switch name {
	case "map":
		return "map_at_" + k
	case "r":
		return "recall_at_" + k
	case "ndcg":
		return "ndcg_at_" + k
	case "mrr":
		return "mrr_at_" + k
	case "p":
		return "precision_at_" + k
	}
	return "lair_" + m
}

// TaskResult is one mteb results file.
type TaskResult struct {
	DatasetRevision string                      `json:"dataset_revision"`
	TaskName        string                      `json:"task_name"`
	MTEBVersion     string                      `json:"mteb_version"`
	Scores          map[string][]map[string]any `json:"scores"`
	EvaluationTime  *float64                    `json:"evaluation_time"`
	KgCO2Emissions  *float64                    `json:"kg_co2_emissions"`
}

// TaskName returns the task name of a lair dataset.
func TaskName(dataset string) string {
	if dataset == "miracl" {
		return "MIRACL-lair"
	}
	return "LAReQA-" + dataset
}

// Build groups metric rows into one TaskResult per (run_id, dataset).
// Unknown language codes are listed in unknown (sorted, once each).
func Build(rows []tables.Metric) (results map[[2]string]*TaskResult, unknown []string) {
	type subsetKey struct{ run, dataset, subset string }
	subsets := map[subsetKey]map[string]any{}
	poolLangs := map[[2]string]map[string]bool{} // run,dataset -> candidate languages seen
	unk := map[string]bool{}
	code := func(l string) string {
		s, ok := LangScript(l)
		if !ok {
			unk[l] = true
		}
		return s
	}
	for _, m := range rows {
		if m.QLang == "all" || math.IsNaN(m.Value) || math.IsInf(m.Value, 0) {
			continue
		}
		var subset string
		var langs []string
		switch m.Setting {
		case "mono":
			subset, langs = m.QLang+"-"+m.QLang, []string{code(m.QLang)}
		case "cross":
			if m.CLang == "all" {
				continue // lair's mean over candidate languages; mteb averages subsets itself
			}
			subset, langs = m.QLang+"-"+m.CLang, []string{code(m.QLang), code(m.CLang)}
		case "multi":
			if m.CLang != "all" {
				continue // per-candidate-language bias breakdowns stay in lair's tables
			}
			subset, langs = m.QLang+"-multi", []string{code(m.QLang)}
		default:
			continue
		}
		rd := [2]string{m.RunID, m.Dataset}
		if poolLangs[rd] == nil {
			poolLangs[rd] = map[string]bool{}
		}
		if m.Setting != "multi" {
			poolLangs[rd][m.CLang] = true
		}
		k := subsetKey{m.RunID, m.Dataset, subset}
		s := subsets[k]
		if s == nil {
			s = map[string]any{"hf_subset": subset, "languages": langs}
			subsets[k] = s
		}
		s[MetricName(m.Metric)] = m.Value
	}
	results = map[[2]string]*TaskResult{}
	keys := make([]subsetKey, 0, len(subsets))
	for k := range subsets {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.run != b.run {
			return a.run < b.run
		}
		if a.dataset != b.dataset {
			return a.dataset < b.dataset
		}
		return a.subset < b.subset
	})
	for _, k := range keys {
		rd := [2]string{k.run, k.dataset}
		r := results[rd]
		if r == nil {
			r = &TaskResult{DatasetRevision: Revision, TaskName: TaskName(k.dataset), MTEBVersion: Version,
				Scores: map[string][]map[string]any{"test": nil}}
			results[rd] = r
		}
		s := subsets[k]
		if strings.HasSuffix(k.subset, "-multi") {
			var pool []string
			for l := range poolLangs[rd] {
				pool = append(pool, l)
			}
			sort.Strings(pool)
			langs := s["languages"].([]string)
			for _, l := range pool {
				if c := code(l); c != langs[0] {
					langs = append(langs, c)
				}
			}
			s["languages"] = langs
		}
		switch {
		case s["map"] != nil:
			s["main_score"] = s["map"]
		case s["ndcg_at_10"] != nil:
			s["main_score"] = s["ndcg_at_10"]
		default:
			s["main_score"] = nil
		}
		r.Scores["test"] = append(r.Scores["test"], s)
	}
	for l := range unk {
		unknown = append(unknown, l)
	}
	sort.Strings(unknown)
	return results, unknown
}

// DirName is the folder of a report artifact that holds the mteb results.
const DirName = "mteb"

// WriteReport writes the results into the mteb folder of the report
// artifact reportDir (see Write).
func WriteReport(reportDir string, rows []tables.Metric) (paths []string, unknown []string, err error) {
	return Write(filepath.Join(reportDir, DirName), rows)
}

// Write writes one file per (run_id, dataset) under dir and returns their
// paths, sorted. Run ids become folder names with "/" replaced by "_".
func Write(dir string, rows []tables.Metric) (paths []string, unknown []string, err error) {
	results, unknown := Build(rows)
	keys := make([][2]string, 0, len(results))
	for k := range results {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i][0]+"\x00"+keys[i][1] < keys[j][0]+"\x00"+keys[j][1] })
	for _, k := range keys {
		r := results[k]
		folder := filepath.Join(dir, strings.ReplaceAll(k[0], "/", "_"), Revision)
		if err := os.MkdirAll(folder, 0o755); err != nil {
			return nil, nil, err
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(r); err != nil {
			return nil, nil, fmt.Errorf("mteb results of %s on %s: %w", k[0], k[1], err)
		}
		p := filepath.Join(folder, r.TaskName+".json")
		if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
			return nil, nil, err
		}
		paths = append(paths, p)
	}
	return paths, unknown, nil
}

// Validate checks a results file the way mteb's TaskResult does: the
// top-level fields, and in every score entry main_score, a string
// hf_subset and a list of languages.
func Validate(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	for _, f := range []string{"dataset_revision", "task_name", "mteb_version", "scores", "evaluation_time"} {
		if _, ok := raw[f]; !ok {
			return fmt.Errorf("no %q", f)
		}
	}
	var scores map[string][]map[string]any
	if err := json.Unmarshal(raw["scores"], &scores); err != nil {
		return fmt.Errorf("scores: %w", err)
	}
	for split, entries := range scores {
		for i, e := range entries {
			if _, ok := e["main_score"]; !ok {
				return fmt.Errorf("scores.%s[%d]: no main_score", split, i)
			}
			if _, ok := e["hf_subset"].(string); !ok {
				return fmt.Errorf("scores.%s[%d]: hf_subset is not a string", split, i)
			}
			if _, ok := e["languages"].([]any); !ok {
				return fmt.Errorf("scores.%s[%d]: languages is not a list", split, i)
			}
		}
	}
	return nil
}
