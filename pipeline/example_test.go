package pipeline_test

import (
	"context"
	"fmt"
	"github.com/lair-ir/lair/storage/dirstore"
	"os"
	"path/filepath"

	"github.com/lair-ir/lair/pipeline"
)

// Example shows how to run a DAG from Go: register stage types, load
// (parse, validate, plan) the DAG, open a store and execute.
func Example() {
	reg := pipeline.NewRegistry()
	reg.Register(&pipeline.StageType{
		Name: "demo/hello", Doc: "writes hello.txt", Output: pipeline.KindDataset,
		Params: []pipeline.Param{{Name: "lang", Type: pipeline.TypeString, Default: "en", Doc: "language"}},
		Run: func(ctx context.Context, sc *pipeline.StageContext) error {
			sc.Log.Info("greeting", "lang", sc.Params.String("lang"))
			return os.WriteFile(filepath.Join(sc.OutDir, "hello.txt"), []byte("hello "+sc.Params.String("lang")), 0o644)
		},
	})
	reg.Register(&pipeline.StageType{
		Name: "demo/count", Doc: "counts its inputs", Output: pipeline.KindReport,
		Inputs: []pipeline.Input{{Kind: pipeline.KindDataset, Many: true, Doc: "greetings"}},
		Run: func(ctx context.Context, sc *pipeline.StageContext) error {
			return os.WriteFile(filepath.Join(sc.OutDir, "n.txt"), []byte(fmt.Sprint(len(sc.Inputs))), 0o644)
		},
	})
	dag := []byte(`
name: example
stages:
  hello: {uses: demo/hello, matrix: {lang: [en, de, ar]}}
  count: {uses: demo/count, needs: hello}
`)
	plan, err := pipeline.Load("example.yaml", dag, reg, pipeline.LoadOptions{})
	if err != nil {
		fmt.Println(err) // a pipeline.ErrorList: every problem, by line
		return
	}
	dir, _ := os.MkdirTemp("", "lair-example-")
	defer os.RemoveAll(dir)
	st, err := dirstore.Open(context.Background(), filepath.Join(dir, "store"), dirstore.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer st.Close()
	for run := 1; run <= 2; run++ {
		res, err := pipeline.Execute(context.Background(), plan, pipeline.RunOptions{
			Store: st, Jobs: 2, RunsDir: filepath.Join(dir, "runs"),
		})
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("run %d: %+v\n", run, res.Summary)
	}
	for _, in := range plan.Instances {
		fmt.Println(in.Name)
	}
	// Output:
	// run 1: {Ran:4 Cached:0 Failed:0 Skipped:0}
	// run 2: {Ran:0 Cached:4 Failed:0 Skipped:0}
	// hello[lang=ar]
	// hello[lang=de]
	// hello[lang=en]
	// count
}
