package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/lair-ir/lair/pipeline"
	"github.com/lair-ir/lair/storage"
	"github.com/lair-ir/lair/storage/stores"
)

func loadPlan(path string, sets []string, reg *pipeline.Registry) (*pipeline.Plan, error) {
	set, err := setFlags(sets)
	if err != nil {
		return nil, err
	}
	plan, err := pipeline.LoadFile(path, reg, pipeline.LoadOptions{Set: set})
	if err != nil {
		var el pipeline.ErrorList
		if !errors.As(err, &el) {
			return nil, usageError{err}
		}
		return nil, err
	}
	return plan, nil
}

func cmdValidate(_ context.Context, s *sys, args []string) error {
	stdout, reg := s.stdout, s.reg
	fs := newFlags("lair validate", "lair validate DAG [--set NAME=VALUE]... [--plan]", stdout)
	var sets multiFlag
	fs.Var(&sets, "set", "override a DAG param: NAME=VALUE; repeatable")
	showPlan := fs.Bool("plan", false, "print the planned instances with their keys and params")
	pos, err := parseArgs(fs, args, 1, 1)
	if err != nil {
		return err
	}
	plan, err := loadPlan(pos[0], sets, reg)
	if err != nil {
		return err
	}
	if *showPlan {
		fmt.Fprint(stdout, plan.Describe())
	}
	fmt.Fprintf(stdout, "%s: ok: %d stages, %d stage instances\n", pos[0], len(plan.DAG.Stages), len(plan.Instances))
	return nil
}

func cmdStages(_ context.Context, s *sys, args []string) error {
	stdout, reg := s.stdout, s.reg
	fs := newFlags("lair stages", "lair stages [TYPE] [--markdown]", stdout)
	md := fs.Bool("markdown", false, "print the reference of every stage type (or TYPE) as Markdown")
	pos, err := parseArgs(fs, args, 0, 1)
	if err != nil {
		return err
	}
	if *md {
		names := reg.Names()
		if len(pos) == 1 {
			names = pos
		}
		for _, n := range names {
			t, ok := reg.Lookup(n)
			if !ok {
				return usagef("unknown stage type %q", n)
			}
			fmt.Fprint(stdout, markdownType(t))
		}
		return nil
	}
	if len(pos) == 0 {
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "TYPE\tINPUTS\tOUTPUT\tDESCRIPTION")
		for _, n := range reg.Names() {
			t, _ := reg.Lookup(n)
			var ins []string
			for _, in := range t.Inputs {
				ins = append(ins, inputDesc(in))
			}
			in := strings.Join(ins, ",")
			if in == "" {
				in = "-"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.Name, in, t.Output, firstLine(t.Doc))
		}
		tw.Flush()
		return nil
	}
	t, ok := reg.Lookup(pos[0])
	if !ok {
		if hint := pipeline.Closest(pos[0], reg.Names()); hint != "" {
			return usagef("unknown stage type %q (did you mean %q?)", pos[0], hint)
		}
		return usagef("unknown stage type %q; `lair stages` lists them", pos[0])
	}
	fmt.Fprint(stdout, describeType(t))
	return nil
}

func inputDesc(in pipeline.Input) string {
	s := string(in.Kind)
	if in.Many {
		s += "..."
	}
	if in.Optional {
		s += "?"
	}
	return s
}

// describeType is the help text of one stage type, made from its
// declaration (as README's stage reference is).
func describeType(t *pipeline.StageType) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (version %s)\n\n", t.Name, t.Version)
	if t.Doc != "" {
		fmt.Fprintf(&b, "%s\n\n", strings.TrimSpace(t.Doc))
	}
	b.WriteString("Inputs:\n")
	if len(t.Inputs) == 0 {
		b.WriteString("  (none)\n")
	}
	for _, in := range t.Inputs {
		var notes []string
		if in.Many {
			notes = append(notes, "many: fans in every instance")
		}
		if in.Optional {
			notes = append(notes, "optional")
		}
		note := ""
		if len(notes) > 0 {
			note = " [" + strings.Join(notes, ", ") + "]"
		}
		fmt.Fprintf(&b, "  %s%s: %s\n", in.Kind, note, in.Doc)
	}
	fmt.Fprintf(&b, "Output:\n  %s", t.Output)
	if d, ok := pipeline.ArtifactKinds[t.Output]; ok {
		fmt.Fprintf(&b, ": %s", d)
	}
	b.WriteString("\nParams:\n")
	if len(t.Params) == 0 {
		b.WriteString("  (none)\n")
	}
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	for _, p := range t.Params {
		def := "-"
		switch {
		case p.Required:
			def = "required"
		case p.Default != nil:
			def = "default " + fmtValue(p.Default)
		}
		doc := p.Doc
		if len(p.Enum) > 0 {
			doc += " (one of: " + strings.Join(p.Enum, ", ") + ")"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", p.Name, p.Type, def, doc)
	}
	tw.Flush()
	if t.Device != "" {
		fmt.Fprintf(&b, "Device: %s\n", t.Device)
	}
	return b.String()
}

func fmtValue(v any) string {
	switch x := v.(type) {
	case []string:
		return "[" + strings.Join(x, ", ") + "]"
	case string:
		return fmt.Sprintf("%q", x)
	}
	return fmt.Sprint(v)
}

func cmdGraph(_ context.Context, s *sys, args []string) error {
	stdout, reg := s.stdout, s.reg
	fs := newFlags("lair graph", "lair graph DAG [--format mermaid|dot] [--set NAME=VALUE]...", stdout)
	format := fs.String("format", "mermaid", "mermaid or dot")
	var sets multiFlag
	fs.Var(&sets, "set", "override a DAG param: NAME=VALUE; repeatable")
	pos, err := parseArgs(fs, args, 1, 1)
	if err != nil {
		return err
	}
	if *format != "mermaid" && *format != "dot" {
		return usagef("--format %q: want mermaid or dot", *format)
	}
	plan, err := loadPlan(pos[0], sets, reg)
	if err != nil {
		return err
	}
	if *format == "dot" {
		fmt.Fprint(stdout, pipeline.GraphDot(plan))
	} else {
		fmt.Fprint(stdout, pipeline.GraphMermaid(plan))
	}
	return nil
}

func cmdRuns(_ context.Context, s *sys, args []string) error {
	stdout := s.stdout
	fs := newFlags("lair runs", "lair runs [ID] [--dir DIR | --dag DAG]", stdout)
	dir := fs.String("dir", ".lair", "the .lair directory (beside the DAG file)")
	dag := fs.String("dag", "", "use the .lair directory beside this DAG file")
	pos, err := parseArgs(fs, args, 0, 1)
	if err != nil {
		return err
	}
	if *dag != "" {
		*dir = lairDir(*dag)
	}
	runsDir := filepath.Join(*dir, "runs")
	if len(pos) == 0 {
		ids, err := pipeline.ListRuns(runsDir)
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			fmt.Fprintf(stdout, "no runs in %s\n", runsDir)
			return nil
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "RUN\tSTATUS\tDAG\tSTARTED\tRAN\tCACHED\tFAILED\tSKIPPED")
		for _, id := range ids {
			m, err := pipeline.ReadManifest(runsDir, id)
			if err != nil {
				fmt.Fprintf(tw, "%s\tunreadable\t%v\n", id, err)
				continue
			}
			s := m.Summary
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\n", id, m.Status, m.DAG.Name, m.Started.Format(time.RFC3339), s.Ran, s.Cached, s.Failed, s.Skipped)
		}
		return tw.Flush()
	}
	m, err := pipeline.ReadManifest(runsDir, pos[0])
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "run %s: %s\ndag: %s (%s, sha256 %s)\nstore: %s\nstarted: %s\n", m.RunID, m.Status, m.DAG.Path, m.DAG.Name, m.DAG.Hash[:12], m.Store, m.Started.Format(time.RFC3339))
	if m.Ended != nil {
		fmt.Fprintf(stdout, "ended: %s (%s)\n", m.Ended.Format(time.RFC3339), m.Ended.Sub(m.Started).Round(time.Millisecond))
	}
	fmt.Fprintf(stdout, "lair %s, %s, host %s\n\n", m.LairVersion, m.GoVersion, m.Host)
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STATUS\tDURATION\tBYTES\tKEY\tINSTANCE")
	for _, mi := range m.Instances {
		d := ""
		if mi.Status == pipeline.StatusRan || mi.Status == pipeline.StatusFailed {
			d = fmtDuration(time.Duration(mi.DurationMS) * time.Millisecond)
		}
		key := mi.Key
		if len(key) > 12 {
			key = key[:12]
		}
		bytes := "-"
		if mi.Status == pipeline.StatusRan {
			bytes = fmt.Sprint(mi.Bytes)
		}
		line := fmt.Sprintf("%s\t%s\t%s\t%s\t%s", mi.Status, d, bytes, key, mi.Name)
		if mi.Error != "" {
			line += ": " + firstLine(mi.Error)
		}
		fmt.Fprintln(tw, line)
	}
	return tw.Flush()
}

// storeFlags are the flags of the store maintenance commands.
type storeFlags struct {
	dir, dag, store string
}

func (f *storeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.dir, "dir", ".lair", "the .lair directory whose runs/ name the artifacts in use")
	fs.StringVar(&f.dag, "dag", "", "use the .lair directory beside this DAG file")
	fs.StringVar(&f.store, "store", "", "the store: a directory, file:///dir or s3://bucket/prefix (default DIR/store)")
}

func (f *storeFlags) lairDir() string {
	if f.dag != "" {
		return lairDir(f.dag)
	}
	return f.dir
}

// open opens the store; a local one must exist already.
func (f *storeFlags) open(ctx context.Context, exclusive bool, onWait func()) (storage.Store, error) {
	url := f.store
	if url == "" {
		url = filepath.Join(f.lairDir(), "store")
	}
	if p, ok := stores.LocalPath(url); ok {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("no store at %s: %w", p, err)
		}
	}
	return openStore(ctx, url, f.lairDir(), "", exclusive, onWait)
}

func cmdGC(ctx context.Context, s *sys, args []string) error {
	stdout := s.stdout
	fs := newFlags("lair gc", "lair gc [--dir DIR | --dag DAG] [--store DIR|URL] [--dry-run]", stdout)
	var f storeFlags
	f.register(fs)
	dry := fs.Bool("dry-run", false, "only list what would be deleted")
	if _, err := parseArgs(fs, args, 0, 0); err != nil {
		return err
	}
	// Exclusive first: wait for running runs on this machine to finish
	// (their records name what they use) and keep new ones out; only then
	// read the records.
	st, err := f.open(ctx, true, func() {
		fmt.Fprintln(s.stderr, "lair gc: waiting for the runs using the store to finish")
	})
	if err != nil {
		return fmt.Errorf("gc: %w", err)
	}
	defer st.Close()
	// On a shared store, announce the collection and learn which keys
	// runs on other machines hold (they are kept); runs starting from now
	// on wait for it to end.
	inUse, done, err := st.Collect(ctx)
	if err != nil {
		return fmt.Errorf("gc: %w", err)
	}
	defer done()
	runsDir := filepath.Join(f.lairDir(), "runs")
	ids, err := pipeline.ListRuns(runsDir)
	if err != nil {
		return err
	}
	keep := map[string]bool{}
	for _, l := range inUse {
		for _, k := range l.Keys {
			keep[k] = true
		}
		fmt.Fprintf(stdout, "gc: keeping the %d keys of the running %s\n", len(l.Keys), l)
	}
	for _, id := range ids {
		m, err := pipeline.ReadManifest(runsDir, id)
		if err != nil {
			return fmt.Errorf("gc: %w (fix or remove that run before collecting)", err)
		}
		for _, mi := range m.Instances {
			keep[mi.Key] = true
		}
	}
	keys, err := st.List(ctx)
	if err != nil {
		return err
	}
	var del []string
	for _, k := range keys {
		if !keep[k] {
			del = append(del, k)
		}
	}
	sort.Strings(del)
	for _, k := range del {
		if *dry {
			fmt.Fprintf(stdout, "would delete %s\n", k)
			continue
		}
		if err := st.Delete(ctx, k); err != nil {
			return err
		}
	}
	verb := "deleted"
	if *dry {
		verb = "would delete"
	}
	fmt.Fprintf(stdout, "gc: %s %d of %d store entries (%d runs reference the rest)\n", verb, len(del), len(keys), len(ids))
	return nil
}

func cmdVerify(ctx context.Context, s *sys, args []string) error {
	stdout := s.stdout
	fs := newFlags("lair verify", "lair verify [--dir DIR | --dag DAG] [--store DIR|URL] [--rerun N [--set NAME=VALUE]...]", stdout)
	var f storeFlags
	f.register(fs)
	rerun := fs.Int("rerun", 0, "also re-execute N stage instances of --dag whose artifacts are in the store, and compare their outputs with the stored ones")
	var sets multiFlag
	fs.Var(&sets, "set", "DAG param override for --rerun: NAME=VALUE; repeatable")
	if _, err := parseArgs(fs, args, 0, 0); err != nil {
		return err
	}
	if *rerun < 0 {
		return usagef("--rerun %d: want 0 or more", *rerun)
	}
	var plan *pipeline.Plan
	if *rerun > 0 {
		if f.dag == "" {
			return usagef("--rerun needs --dag: the DAG whose stages to re-execute")
		}
		var err error
		if plan, err = loadPlan(f.dag, sets, s.reg); err != nil {
			return err
		}
	}
	st, err := f.open(ctx, false, nil)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	defer st.Close()
	keys, err := st.List(ctx)
	if err != nil {
		return err
	}
	bad := 0
	for _, k := range keys {
		err := st.Verify(ctx, k)
		switch {
		case err == nil, errors.Is(err, storage.ErrNotFound): // deleted meanwhile
			continue
		case !errors.Is(err, storage.ErrCorrupt):
			return fmt.Errorf("verify %s: %w", k, err)
		}
		bad++
		fmt.Fprintf(stdout, "corrupt %s: %v\n", k, err)
		where, qerr := st.Quarantine(ctx, k)
		if qerr != nil {
			return fmt.Errorf("verify: %w", qerr)
		}
		fmt.Fprintf(stdout, "quarantined %s to %s: the next run rebuilds it\n", k, where)
	}
	fmt.Fprintf(stdout, "verify: %d store entries checked, %d corrupt\n", len(keys), bad)
	mismatched := 0
	if plan != nil {
		env, err := envFromFlags("", "", 0)
		if err != nil {
			return err
		}
		results, err := pipeline.Rerun(ctx, plan, st, env, *rerun)
		if err != nil {
			return err
		}
		for _, r := range results {
			if r.Err != nil {
				return fmt.Errorf("verify --rerun: %w", r.Err)
			}
			if len(r.Diff) == 0 {
				fmt.Fprintf(stdout, "same     %s\n", r.Instance.Name)
				continue
			}
			mismatched++
			fmt.Fprintf(stdout, "DIFFERS  %s: %s\n", r.Instance.Name, strings.Join(r.Diff, ", "))
		}
		fmt.Fprintf(stdout, "verify --rerun: %d stage instances re-executed, %d made other outputs than the store holds\n", len(results), mismatched)
	}
	if bad > 0 || mismatched > 0 {
		return exitCode(exitFailed)
	}
	return nil
}

// markdownType is the Markdown reference of one stage type, for README.
func markdownType(t *pipeline.StageType) string {
	var b strings.Builder
	fmt.Fprintf(&b, "#### `%s` (version %s)\n\n", t.Name, t.Version)
	if t.Doc != "" {
		fmt.Fprintf(&b, "%s\n\n", strings.TrimSpace(t.Doc))
	}
	var ins []string
	for _, in := range t.Inputs {
		s := "`" + string(in.Kind) + "`"
		if in.Many {
			s += " (many)"
		}
		if in.Optional {
			s += " (optional)"
		}
		if in.Doc != "" {
			s += ": " + in.Doc
		}
		ins = append(ins, s)
	}
	if len(ins) == 0 {
		ins = []string{"none"}
	}
	fmt.Fprintf(&b, "Inputs: %s. Output: `%s`.\n\n", strings.Join(ins, "; "), t.Output)
	if len(t.Params) > 0 {
		b.WriteString("| param | type | default | description |\n|---|---|---|---|\n")
		for _, p := range t.Params {
			def := ""
			switch {
			case p.Required:
				def = "required"
			case p.Default != nil:
				def = "`" + fmtValue(p.Default) + "`"
			}
			doc := strings.ReplaceAll(p.Doc, "|", "\\|")
			if len(p.Enum) > 0 {
				if doc != "" && !strings.HasSuffix(doc, ".") {
					doc += "."
				}
				doc += " One of: " + strings.Join(p.Enum, ", ") + "."
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", p.Name, p.Type, def, doc)
		}
		b.WriteString("\n")
	}
	return b.String()
}
