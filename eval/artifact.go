package eval

import (
	"context"
	"errors"
	"os"
	"path/filepath"

	"github.com/lair-ir/lair/datasets"
	"github.com/lair-ir/lair/eval/search"
	"github.com/lair-ir/lair/tables"
)

// eval owns two artifact kinds and every name in them; stages go through
// the functions below, given the artifact directory.
//
// A rankings artifact (retrieve/dense, retrieve/bm25, retrieve/fuse,
// retrieve/merge) holds rankings.parquet and meta.json (the run id and
// what the retrieval saw). A metrics artifact (eval/lareqa, eval/miracl,
// reference/miracl) holds metrics.parquet, per_query.parquet and the TREC
// files under runs/.

// File names of the rankings and metrics artifacts (RankingsFile is in
// rankings.go).
const (
	RankingsMetaFile = "meta.json"
	MetricsFile      = "metrics.parquet"
	RunsDirName      = "runs"
)

// RankingsPath is the rankings file of the rankings artifact in dir.
func RankingsPath(dir string) string { return filepath.Join(dir, RankingsFile) }

// CreateRankingsArtifact creates the rankings file of the artifact in dir.
func CreateRankingsArtifact(dir string) (*RankingsWriter, error) {
	return CreateRankings(RankingsPath(dir))
}

// ReadRankingsArtifact streams the rankings of the artifact in dir to fn
// in batches (see ReadRankings).
func ReadRankingsArtifact(dir string, fn func(batch []Ranking) error) error {
	return ReadRankings(RankingsPath(dir), fn)
}

// RetrieveToArtifact runs Retrieve and writes the rows to the rankings
// file of the artifact in dir.
func RetrieveToArtifact(ctx context.Context, p *Prepared, perLang, pooled search.Scorer, opt RetrieveOptions, dir string) (*RetrieveStats, error) {
	return RetrieveToFile(ctx, p, perLang, pooled, opt, RankingsPath(dir))
}

// RetrieveToFile runs Retrieve and writes the rows to a rankings file.
func RetrieveToFile(ctx context.Context, p *Prepared, perLang, pooled search.Scorer, opt RetrieveOptions, path string) (*RetrieveStats, error) {
	w, err := CreateRankings(path)
	if err != nil {
		return nil, err
	}
	w.SetLicense(opt.License)
	st, err := Retrieve(ctx, p, perLang, pooled, opt, w.Write)
	if err != nil {
		w.Close()
		return nil, err
	}
	return st, w.Close()
}

// WriteRankingsMeta writes v as the meta.json of the rankings artifact in
// dir. v holds at least run_id; retrieve/dense adds degenerate_embeddings
// (see RankingsMeta).
func WriteRankingsMeta(dir string, v any) error {
	return tables.WriteJSON(filepath.Join(dir, RankingsMetaFile), v)
}

// RankingsMeta is what later stages read from a rankings artifact's
// meta.json.
type RankingsMeta struct {
	RunID      string `json:"run_id"`
	Degenerate struct {
		Queries  int `json:"queries"`
		Passages int `json:"passages"`
	} `json:"degenerate_embeddings"`
}

// ReadRankingsMeta reads the meta.json of the rankings artifact in dir;
// ok is false when it has none.
func ReadRankingsMeta(dir string) (m RankingsMeta, ok bool, err error) {
	err = tables.ReadJSON(filepath.Join(dir, RankingsMetaFile), &m)
	if errors.Is(err, os.ErrNotExist) {
		return m, false, nil
	}
	return m, err == nil, err
}

// MetricsPath is the metric table of the metrics artifact in dir.
func MetricsPath(dir string) string { return filepath.Join(dir, MetricsFile) }

// PerQueryPath is the per-query table of the metrics artifact in dir and
// whether the artifact has one.
func PerQueryPath(dir string) (string, bool) {
	p := filepath.Join(dir, tables.PerQueryFile)
	_, err := os.Stat(p)
	return p, err == nil
}

// WriteMetrics writes the metric rows, with the Parquet key/value
// metadata meta, into the metrics artifact dir.
func WriteMetrics(dir string, ms []tables.Metric, meta map[string]string) error {
	return tables.Write(MetricsPath(dir), ms, meta)
}

// WritePerQuery writes per-query rows into the metrics artifact dir in one
// go (EvaluateArtifact streams them instead).
func WritePerQuery(dir string, rows []tables.PerQuery, meta map[string]string) error {
	return tables.Write(filepath.Join(dir, tables.PerQueryFile), rows, meta)
}

// ReadMetrics reads the metric rows of the metrics artifact in dir.
func ReadMetrics(dir string) ([]tables.Metric, error) {
	return tables.Read[tables.Metric](MetricsPath(dir))
}

// EvaluateArtifact evaluates the rankings artifacts in rankingDirs (see
// EvaluateRankings) into the metrics artifact outDir: TREC files under
// runs/, per-query rows streamed to per_query.parquet, then
// metrics.parquet; cfg.PerQueryMeta is the metadata of both tables.
// cfg.RunsDir and cfg.PerQueryPath are set here.
func EvaluateArtifact(ctx context.Context, rankingDirs []string, dss []*datasets.Dataset, cfg EvalConfig, outDir string) ([]tables.Metric, error) {
	paths := make([]string, len(rankingDirs))
	for i, d := range rankingDirs {
		paths[i] = RankingsPath(d)
	}
	cfg.RunsDir = filepath.Join(outDir, RunsDirName)
	cfg.PerQueryPath = filepath.Join(outDir, tables.PerQueryFile)
	ms, err := EvaluateRankings(ctx, paths, dss, cfg)
	if err != nil {
		return nil, err
	}
	return ms, WriteMetrics(outDir, ms, cfg.PerQueryMeta)
}
