package cli

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/lair-ir/lair/pipeline"
	"github.com/lair-ir/lair/storage/s3store/s3fake"
)

// testRegistry holds debug stage types, so the CLI tests do not depend on
// lair's real stages.
func testRegistry() *pipeline.Registry {
	reg := pipeline.NewRegistry()
	reg.Register(&pipeline.StageType{
		Name: "debug/write", Doc: "Writes out.txt holding text, reporting progress over items.", Output: pipeline.KindDataset,
		Params: []pipeline.Param{
			{Name: "text", Type: pipeline.TypeString, Default: "hello", Doc: "what to write"},
			{Name: "items", Type: pipeline.TypeInt, Default: 3, Doc: "progress items to report"},
		},
		Run: func(ctx context.Context, sc *pipeline.StageContext) error {
			n := int64(sc.Params.Int("items"))
			sc.Progress.Start("write", n)
			for i := int64(0); i < n; i++ {
				sc.Progress.Add(1)
			}
			sc.Log.Info("writing", "text", sc.Params.String("text"))
			return os.WriteFile(filepath.Join(sc.OutDir, "out.txt"), []byte(sc.Params.String("text")+"\n"), 0o644)
		},
	})
	reg.Register(&pipeline.StageType{
		Name: "debug/concat", Doc: "Concatenates the out.txt of every input.", Output: pipeline.KindReport,
		Inputs: []pipeline.Input{{Kind: pipeline.KindDataset, Many: true, Doc: "texts"}},
		Run: func(ctx context.Context, sc *pipeline.StageContext) error {
			var b strings.Builder
			for _, in := range sc.Inputs {
				data, err := os.ReadFile(in.Path("out.txt"))
				if err != nil {
					return err
				}
				fmt.Fprintf(&b, "%s: %s", in.Stage, data)
			}
			return os.WriteFile(filepath.Join(sc.OutDir, "out.txt"), []byte(b.String()), 0o644)
		},
	})
	reg.Register(&pipeline.StageType{
		Name: "debug/sleep", Doc: "Writes a partial file, touches marker (when set), then sleeps.", Output: pipeline.KindDataset,
		Inputs: []pipeline.Input{{Kind: pipeline.KindDataset, Many: true, Optional: true, Doc: "waited for"}},
		Params: []pipeline.Param{
			{Name: "ms", Type: pipeline.TypeInt, Default: 10, Doc: "milliseconds to sleep"},
			{Name: "marker", Type: pipeline.TypeString, Doc: "file to create once running"},
		},
		Run: func(ctx context.Context, sc *pipeline.StageContext) error {
			if err := os.WriteFile(filepath.Join(sc.OutDir, "out.txt"), []byte("partial\n"), 0o644); err != nil {
				return err
			}
			if m := sc.Params.String("marker"); m != "" {
				if err := os.WriteFile(m, nil, 0o644); err != nil {
					return err
				}
			}
			select {
			case <-time.After(time.Duration(sc.Params.Int("ms")) * time.Millisecond):
			case <-ctx.Done():
				return ctx.Err()
			}
			return os.WriteFile(filepath.Join(sc.OutDir, "out.txt"), []byte("slept\n"), 0o644)
		},
	})
	reg.Register(&pipeline.StageType{
		Name: "debug/fail", Doc: "Fails with message.", Output: pipeline.KindDataset,
		Inputs: []pipeline.Input{{Kind: pipeline.KindDataset, Many: true, Optional: true, Doc: "ignored"}},
		Params: []pipeline.Param{{Name: "message", Type: pipeline.TypeString, Required: true, Doc: "the error"}},
		Run: func(ctx context.Context, sc *pipeline.StageContext) error {
			return fmt.Errorf("%s", sc.Params.String("message"))
		},
	})
	reg.Register(&pipeline.StageType{
		Name: "debug/panic", Doc: "Panics.", Output: pipeline.KindDataset,
		Run: func(ctx context.Context, sc *pipeline.StageContext) error {
			var m map[string]int
			m["boom"]++ // a nil map write: a runtime panic
			return nil
		},
	})
	reg.Register(&pipeline.StageType{
		Name: "debug/now", Doc: "Writes the time: not deterministic, for lair verify --rerun.", Output: pipeline.KindDataset,
		Run: func(ctx context.Context, sc *pipeline.StageContext) error {
			return os.WriteFile(filepath.Join(sc.OutDir, "now.txt"), []byte(time.Now().Format(time.RFC3339Nano)), 0o644)
		},
	})
	return reg
}

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"lair": func() {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			code := Run(ctx, os.Stdout, os.Stderr, os.Args[1:], testRegistry())
			stop()
			os.Exit(code)
		},
		"mkdata": func() { os.Exit(mkdata(os.Args[1:])) },
		// mkdeep FILE: a DAG file of about 200 KB nested 50,000 levels deep.
		"mkdeep": func() {
			text := "name: deep\nstages:\n  a: {uses: debug/write, with: {text: " + strings.Repeat("[", 50000) + strings.Repeat("]", 50000) + "}}\n"
			if err := os.WriteFile(os.Args[1], []byte(text), 0o644); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			os.Exit(0)
		},
	})
}

// servers are the S3 servers started by s3fake, per script.
var servers sync.Map // *testscript.TestScript -> *s3fake.Server

func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		// The scripts live with the command they test.
		Dir: "../../cmd/lair/testdata/script",
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			// waitfile FILE: wait (up to a minute) until FILE exists.
			"waitfile": func(ts *testscript.TestScript, neg bool, args []string) {
				deadline := time.Now().Add(time.Minute)
				for {
					if _, err := os.Stat(ts.MkAbs(args[0])); err == nil {
						return
					}
					if time.Now().After(deadline) {
						ts.Fatalf("%s never appeared", args[0])
					}
					time.Sleep(10 * time.Millisecond)
				}
			},
			// rmfirstrun RUNSDIR: remove the oldest recorded run.
			"rmfirstrun": func(ts *testscript.TestScript, neg bool, args []string) {
				ids, err := pipeline.ListRuns(ts.MkAbs(args[0]))
				ts.Check(err)
				if len(ids) == 0 {
					ts.Fatalf("no runs")
				}
				ts.Check(os.RemoveAll(filepath.Join(ts.MkAbs(args[0]), ids[0])))
			},
			// waitgrep PATTERN FILE: wait (up to a minute) until FILE matches.
			"waitgrep": func(ts *testscript.TestScript, neg bool, args []string) {
				re := regexp.MustCompile(args[0])
				deadline := time.Now().Add(time.Minute)
				for {
					if b, err := os.ReadFile(ts.MkAbs(args[1])); err == nil && re.Match(b) {
						return
					}
					if time.Now().After(deadline) {
						ts.Fatalf("%s never matched %s", args[1], args[0])
					}
					time.Sleep(10 * time.Millisecond)
				}
			},
			// s3fake: start an in-process S3 server with bucket "lair"
			// for this script and point the AWS_* variables at it.
			"s3fake": func(ts *testscript.TestScript, neg bool, args []string) {
				srv, err := s3fake.Start("lair")
				ts.Check(err)
				ts.Defer(srv.Close)
				for _, kv := range srv.Env() {
					k, v, _ := strings.Cut(kv, "=")
					ts.Setenv(k, v)
				}
				servers.Store(ts, srv)
			},
			// s3corrupt SUFFIX: overwrite the first object of bucket
			// "lair" whose name ends with SUFFIX.
			"s3corrupt": func(ts *testscript.TestScript, neg bool, args []string) {
				v, ok := servers.Load(ts)
				if !ok {
					ts.Fatalf("s3corrupt: run s3fake first")
				}
				srv := v.(*s3fake.Server)
				objs, err := srv.Objects("lair")
				ts.Check(err)
				for _, o := range objs {
					if strings.HasSuffix(o, args[0]) {
						ts.Check(srv.Overwrite("lair", o, []byte("damaged")))
						return
					}
				}
				ts.Fatalf("no object ends with %s in %v", args[0], objs)
			},
			// emptydir DIR: DIR exists and holds nothing (or, negated, something).
			"emptydir": func(ts *testscript.TestScript, neg bool, args []string) {
				ents, err := os.ReadDir(ts.MkAbs(args[0]))
				ts.Check(err)
				if (len(ents) == 0) == neg {
					var names []string
					for _, e := range ents {
						names = append(names, e.Name())
					}
					ts.Fatalf("%s holds %v", args[0], names)
				}
			},
		},
		UpdateScripts: os.Getenv("UPDATE_SCRIPTS") == "1",
	})
}

// mkdata writes small Parquet and Arrow IPC files for `lair show` tests:
// mkdata DIR.
func mkdata(args []string) int {
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: mkdata DIR")
		return 2
	}
	md := arrow.NewMetadata([]string{"license", "source"}, []string{"CC-BY-SA-4.0", "lair test"})
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "qid", Type: arrow.BinaryTypes.String},
		{Name: "lang", Type: arrow.BinaryTypes.String},
		{Name: "score", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	}, &md)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	b.Field(0).(*array.StringBuilder).AppendValues([]string{"q1", "q2", "q3"}, nil)
	b.Field(1).(*array.StringBuilder).AppendValues([]string{"en", "de", "ar"}, nil)
	b.Field(2).(*array.Float64Builder).AppendValues([]float64{0.5, 0, 1.25}, []bool{true, false, true})
	rec := b.NewRecordBatch()
	defer rec.Release()

	pf, err := os.Create(filepath.Join(args[0], "t.parquet"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	w, err := pqarrow.NewFileWriter(sc, pf, parquet.NewWriterProperties(), pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err == nil {
		err = w.Write(rec)
	}
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	af, err := os.Create(filepath.Join(args[0], "t.arrow"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	aw, err := ipc.NewFileWriter(af, ipc.WithSchema(sc))
	if err == nil {
		err = aw.Write(rec)
	}
	if err == nil {
		err = aw.Write(rec)
	}
	if err == nil {
		err = aw.Close()
	}
	if err == nil {
		err = af.Close()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	sf, err := os.Create(filepath.Join(args[0], "t.arrows"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	sw := ipc.NewWriter(sf, ipc.WithSchema(sc))
	err = sw.Write(rec)
	if err == nil {
		err = sw.Close()
	}
	if err == nil {
		err = sf.Close()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}
