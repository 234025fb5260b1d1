package pipeline

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/lair-ir/lair/internal/fsutil"
)

// Instance statuses, as recorded in a run manifest.
const (
	StatusPending = "pending"
	StatusRunning = "running"
	StatusCached  = "cached"
	StatusRan     = "ran"
	StatusFailed  = "failed"
	StatusSkipped = "skipped"
)

// Manifest records one run: runs/<run_id>/manifest.json. It is written
// atomically at the start, as stages finish and at the end, so even a
// killed run leaves a valid manifest (with status "running").
type Manifest struct {
	RunID       string             `json:"run_id"`
	Status      string             `json:"status"` // running, ok, failed, interrupted
	DAG         ManifestDAG        `json:"dag"`
	Params      map[string]any     `json:"params,omitempty"`
	Store       string             `json:"store"`
	Started     time.Time          `json:"started"`
	Ended       *time.Time         `json:"ended,omitempty"`
	LairVersion string             `json:"lair_version"`
	GoVersion   string             `json:"go_version"`
	Host        string             `json:"host"`
	Summary     Summary            `json:"summary"`
	Instances   []ManifestInstance `json:"instances"`
}

// ManifestDAG names the DAG file a run ran.
type ManifestDAG struct {
	Path string `json:"path"`
	Hash string `json:"sha256"`
	Name string `json:"name"`
}

// Summary counts instances by outcome.
type Summary struct {
	Ran     int `json:"ran"`
	Cached  int `json:"cached"`
	Failed  int `json:"failed"`
	Skipped int `json:"skipped"`
}

// ManifestInstance is one stage instance of a run.
type ManifestInstance struct {
	Name       string            `json:"name"`
	Stage      string            `json:"stage"`
	Type       string            `json:"type"`
	Version    string            `json:"version"`
	Params     Params            `json:"params"`
	Matrix     map[string]string `json:"matrix,omitempty"`
	Inputs     []string          `json:"inputs,omitempty"`
	Key        string            `json:"key"`
	Status     string            `json:"status"`
	Start      *time.Time        `json:"start,omitempty"`
	End        *time.Time        `json:"end,omitempty"`
	DurationMS int64             `json:"duration_ms,omitempty"`
	Bytes      int64             `json:"bytes,omitempty"` // bytes the stage wrote (instances that ran)
	Error      string            `json:"error,omitempty"`
}

// writeJSONAtomic writes v as indented JSON to path atomically (package
// fsutil: temp file, fsync, rename), so readers never see a partial file.
func writeJSONAtomic(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return fsutil.WriteFile(path, append(b, '\n'), 0o644)
}

// ReadManifest reads runs/<id>/manifest.json under runsDir. id "latest"
// (or "") names the newest run.
func ReadManifest(runsDir, id string) (*Manifest, error) {
	if id == "" || id == "latest" {
		t, err := os.Readlink(filepath.Join(runsDir, "latest"))
		if err != nil {
			return nil, fmt.Errorf("no runs in %s: %w", runsDir, err)
		}
		id = filepath.Base(t)
	}
	if strings.ContainsAny(id, `/\`) || id == "." || id == ".." {
		return nil, fmt.Errorf("invalid run id %q", id)
	}
	path := filepath.Join(runsDir, id, "manifest.json")
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", id, err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &m, nil
}

// ListRuns returns the run ids under runsDir, oldest first.
func ListRuns(runsDir string) ([]string, error) {
	ents, err := os.ReadDir(runsDir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() && e.Name() != "latest" {
			if _, err := os.Stat(filepath.Join(runsDir, e.Name(), "manifest.json")); err == nil {
				out = append(out, e.Name())
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// linkName turns an instance name into a safe file name for the run
// directory's links.
func linkName(instance string) string {
	r := strings.NewReplacer("/", "_", "\\", "_", "\x00", "_")
	s := r.Replace(instance)
	if s == "manifest.json" || s == "." || s == ".." || s == "" {
		s = "_" + s
	}
	return s
}
