package stages

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// Stages are thin adapters: every artifact kind has one owner package that
// names its files and reads and writes them given the artifact directory
// (datasets, datasets/pairs, datasets/leakage, tables for embeddings,
// encoder/model, batching, eval for rankings and metrics, eval/shard,
// reports). checkStageSource reports the places where a stage source names
// an artifact file or reads or writes one itself; TestStagesNameNoFiles
// keeps the stages free of them.

// fileNameLit matches a string literal that is a file name: a name with
// one of the extensions lair's artifacts use.
var fileNameLit = regexp.MustCompile(`^[\w.@/-]*\.(parquet|arrow|arrows|ipc|onnx|json|jsonl|tsv|trec|run|qrels|md|html|svg|csv|txt|gz)$`)

// fileConst matches an owner package's exported file-name constant
// (datasets.QueriesFile, tables.EmbeddingsArrow, batching.FileName, ...).
var fileConst = regexp.MustCompile(`^(?:[A-Z]\w*)?(?:File|FileName|Arrow|Parquet)$`)

// forbiddenCalls are package functions that read, write or decode files:
// a stage leaves them to the owner packages.
var forbiddenCalls = map[string]bool{
	"os.ReadFile": true, "os.WriteFile": true, "os.Create": true, "os.Open": true, "os.OpenFile": true,
	"os.Stat": true, "os.Lstat": true, "os.ReadDir": true,
	"tables.Read": true, "tables.Write": true, "tables.ReadBatches": true, "tables.Metadata": true, "tables.NumRows": true,
	"tables.ReadJSON": true, "tables.WriteJSON": true,
}

// forbiddenImports decode or encode artifact formats.
var forbiddenImports = []string{"encoding/json", "encoding/csv", "github.com/parquet-go/", "github.com/apache/arrow-go/"}

func checkStageSource(fset *token.FileSet, f *ast.File) []string {
	var bad []string
	report := func(n ast.Node, format string, args ...any) {
		bad = append(bad, fset.Position(n.Pos()).String()+": "+fmt.Sprintf(format, args...))
	}
	imported := map[string]bool{}
	for _, im := range f.Imports {
		path, _ := strconv.Unquote(im.Path.Value)
		for _, p := range forbiddenImports {
			if strings.HasPrefix(path, p) || path == strings.TrimSuffix(p, "/") {
				report(im, "imports %s: decoding a format is the owner package's job", path)
			}
		}
		name := path[strings.LastIndex(path, "/")+1:]
		if im.Name != nil {
			name = im.Name.Name
		}
		imported[name] = true
	}
	// selectors in type positions (datasets.SourceFile{...}) are types, not files
	types := map[ast.Node]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CompositeLit:
			types[n.Type] = true
		case *ast.ArrayType:
			types[n.Elt] = true
		case *ast.Field:
			types[n.Type] = true
		case *ast.ValueSpec:
			types[n.Type] = true
		}
		return true
	})
	calls := map[ast.Node]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.BasicLit:
			if n.Kind != token.STRING {
				return true
			}
			if s, err := strconv.Unquote(n.Value); err == nil && fileNameLit.MatchString(s) {
				report(n, "names the file %q", s)
			}
		case *ast.CallExpr:
			fun := n.Fun
			switch g := fun.(type) { // generic instantiation: tables.Read[tables.Query](...)
			case *ast.IndexExpr:
				fun = g.X
			case *ast.IndexListExpr:
				fun = g.X
			}
			calls[fun] = true
			sel, ok := fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			x, isIdent := sel.X.(*ast.Ident)
			fn := ""
			if isIdent {
				fn = x.Name + "." + sel.Sel.Name
			}
			switch {
			case forbiddenCalls[fn]:
				report(n, "calls %s: read and write artifacts through their owner package", fn)
			case fn == "filepath.Join" || fn == "path.Join":
				// nothing is joined onto an artifact directory (the output or an
				// input's Dir); only the cache directory may take a literal name
				base := ""
				if len(n.Args) > 0 {
					base = exprString(n.Args[0])
				}
				if base == "sc.OutDir" || strings.HasSuffix(base, ".Dir") || strings.HasSuffix(base, ".OutDir") {
					report(n, "joins a path onto the artifact directory %s", base)
					break
				}
				if base != "sc.Env.CacheDir" {
					for _, a := range n.Args[1:] {
						if _, lit := a.(*ast.BasicLit); lit {
							report(n, "joins a file name onto %s", base)
						}
					}
				}
			case sel.Sel.Name == "Path" && !(isIdent && imported[x.Name]):
				report(n, "calls %s.Path: pass the artifact's Dir to its owner package", exprString(sel.X))
			}
		case *ast.SelectorExpr:
			if x, ok := n.X.(*ast.Ident); ok && imported[x.Name] && fileConst.MatchString(n.Sel.Name) && !calls[n] && !types[n] {
				report(n, "uses %s.%s: only its owner package names that file", x.Name, n.Sel.Name)
			}
		}
		return true
	})
	return bad
}

func exprString(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name
	case *ast.SelectorExpr:
		return exprString(e.X) + "." + e.Sel.Name
	}
	return "expression"
}

func parseStages(t *testing.T) (*token.FileSet, []*ast.File) {
	t.Helper()
	paths, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var files []*ast.File
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	if len(files) < 5 {
		t.Fatalf("found %d stage sources in %v: run the test in the stages directory", len(files), paths)
	}
	return fset, files
}

// TestStagesNameNoFiles fails when a stage names an artifact file or reads,
// writes or decodes one itself instead of calling the artifact's owner
// package (see README, "Who owns which artifact").
func TestStagesNameNoFiles(t *testing.T) {
	fset, files := parseStages(t)
	for _, f := range files {
		for _, b := range checkStageSource(fset, f) {
			t.Error(b)
		}
	}
}

// TestStageSourceCheckFinds proves the check catches each kind of
// violation (so that a clean TestStagesNameNoFiles means something).
func TestStageSourceCheckFinds(t *testing.T) {
	src := `package stages

import (
	"encoding/json"
	"os"
	"path/filepath"

	"github.com/lair-ir/lair/batching"
	"github.com/lair-ir/lair/datasets"
	"github.com/lair-ir/lair/tables"
)

func bad(sc *pipeline.StageContext, in pipeline.Artifact) {
	_ = filepath.Join(sc.OutDir, "rankings.parquet")
	_, _ = os.ReadFile(in.Dir + "/x")
	_, _ = tables.Read[tables.Query](in.Path(datasets.QueriesFile))
	_ = json.Marshal
	_ = filepath.Join(in.Dir, name)
	_ = batching.FileName
	_ = filepath.Join(dir, "x.parquet")
}

func fine(sc *pipeline.StageContext, in pipeline.Artifact) {
	_ = filepath.Join(sc.Env.CacheDir, "embeddings")
	_ = datasets.SourceFile{File: "x"}
	_ = []datasets.SourceFile{}
	_, _ = datasets.ReadQueries(in.Dir)
	_ = datasets.CandidatesPath(in.Dir)
	_ = "writes queries.parquet and meta.json"
}
`
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "bad.go", src, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(checkStageSource(fset, f), "\n")
	for _, want := range []string{
		`bad.go:4:2: imports encoding/json`,
		`bad.go:14:6: joins a path onto the artifact directory sc.OutDir`,
		`bad.go:14:31: names the file "rankings.parquet"`,
		`bad.go:15:9: calls os.ReadFile`,
		`bad.go:16:9: calls tables.Read`,
		`bad.go:16:35: calls in.Path`,
		`bad.go:16:43: uses datasets.QueriesFile`,
		`bad.go:18:6: joins a path onto the artifact directory in.Dir`,
		`bad.go:19:6: uses batching.FileName`,
		`bad.go:20:6: joins a file name onto dir`,
		`bad.go:20:25: names the file "x.parquet"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("check missed %q; it found:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "\n") + 1; n != 11 {
		t.Errorf("%d findings, want 11 (nothing in fine):\n%s", n, got)
	}
}
