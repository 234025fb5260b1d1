package repodags_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/lair-ir/lair/cluster/argo"
	"github.com/lair-ir/lair/cluster/argo/argoschema"
	"github.com/lair-ir/lair/pipeline"
	"github.com/lair-ir/lair/stages"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

var (
	keyRE    = regexp.MustCompile(`(?m)^(\s+value: )[0-9a-f]{64}$`)
	dagSumRE = regexp.MustCompile(`(?m)^(\s+lair.dev/dag-sha256: )[0-9a-f]{64}$`)
)

// normalizeKeys replaces content addresses and the DAG file's hash: they
// change whenever a stage type's version or defaults do, and package
// argo's tests check keys against the plan, so the golden files keep the
// manifests' shape only.
func normalizeKeys(b []byte) []byte {
	b = keyRE.ReplaceAll(b, []byte("${1}KEY"))
	return dagSumRE.ReplaceAll(b, []byte("${1}SHA256"))
}

// TestExportRepoDAGs exports every DAG in dags/ and checks it against its
// golden file (testdata/NAME.golden; -update rewrites) and the schema.
func TestExportRepoDAGs(t *testing.T) {
	files, err := filepath.Glob("../../../dags/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Skip("no DAG files in dags/")
	}
	reg := pipeline.NewRegistry()
	stages.Register(reg)
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		t.Run(name, func(t *testing.T) {
			plan, err := pipeline.LoadFile(f, reg, pipeline.LoadOptions{})
			if err != nil {
				// Validating dags/ is the pipeline's and the stages' test;
				// here a DAG is exported once its stage types exist.
				t.Skipf("%s does not load with the registered stage types yet: %v", f, err)
			}
			var buf bytes.Buffer
			opts := argo.Options{Store: "s3://lair-artifacts/" + name, DAGPath: "dags/" + filepath.Base(f), Image: "lair:latest"}
			if err := argo.Export(&buf, plan, opts); err != nil {
				t.Fatal(err)
			}
			if err := argoschema.ValidateYAML(buf.Bytes()); err != nil {
				t.Fatal(err)
			}
			got := normalizeKeys(buf.Bytes())
			path := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run `go test ./cluster/argo/repodags -update` to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the export (run `go test ./cluster/argo/repodags -update` if the change is intended); %s", path, firstDiff(got, want))
			}
		})
	}
}

// firstDiff describes the first line where got and want differ.
func firstDiff(got, want []byte) string {
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("first difference at line %d:\n got: %q\nwant: %q", i+1, gl, wl)
		}
	}
	return "no line differs"
}
