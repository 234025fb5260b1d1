package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Plan is a validated DAG expanded into stage instances, each with its
// resolved parameters, inputs and content address.
type Plan struct {
	DAG    *DAG
	Params map[string]any // DAG-level params after --set overrides
	// Instances in a topological order: every instance comes after its
	// inputs. The order is stable: stages in dependency order, ties broken
	// by their order in the file; instances of one stage sorted by name.
	Instances []*Instance
	byName    map[string]*Instance
	byStage   map[string][]*Instance
}

// Instance is one runnable stage instance: a stage, or one combination of
// its matrix and of its upstreams' matrices.
type Instance struct {
	Name   string // e.g. "train[strategy=hybrid]"
	Stage  string // the DAG stage, e.g. "train"
	Type   *StageType
	Params Params            // resolved: defaults, references and matrix values applied
	Matrix map[string]string // matrix values this instance carries (own and inherited)
	Inputs []*Instance       // in the order of needs; a fan-in need contributes all its instances
	Key    string            // content address: see KeyOf
}

// Instance returns the instance with that name.
func (p *Plan) Instance(name string) (*Instance, bool) {
	in, ok := p.byName[name]
	return in, ok
}

// Find returns the instance with that name, or an error naming the DAG and
// listing its instance names.
func (p *Plan) Find(name string) (*Instance, error) {
	if in, ok := p.byName[name]; ok {
		return in, nil
	}
	names := make([]string, 0, len(p.Instances))
	for _, in := range p.Instances {
		names = append(names, in.Name)
	}
	sort.Strings(names)
	return nil, fmt.Errorf("DAG %s has no stage instance %q%s; its instances are: %s", p.DAG.Path, name, suggest(name, names), strings.Join(names, ", "))
}

// StageInstances returns the instances of a DAG stage, sorted by name.
func (p *Plan) StageInstances(stage string) []*Instance { return p.byStage[stage] }

// Stages returns the DAG's stage names in plan (topological) order.
func (p *Plan) Stages() []string {
	var out []string
	seen := map[string]bool{}
	for _, in := range p.Instances {
		if !seen[in.Stage] {
			seen[in.Stage] = true
			out = append(out, in.Stage)
		}
	}
	return out
}

// Descendants returns the names of the given instances and every instance
// that depends on them, directly or not.
func (p *Plan) Descendants(roots []*Instance) map[string]bool {
	out := map[string]bool{}
	for _, r := range roots {
		out[r.Name] = true
	}
	for _, in := range p.Instances { // topological order
		for _, up := range in.Inputs {
			if out[up.Name] {
				out[in.Name] = true
				break
			}
		}
	}
	return out
}

// keyDoc is what an instance's content address hashes.
type keyDoc struct {
	Type    string         `json:"type"`
	Version string         `json:"version"`
	Params  map[string]any `json:"params"`
	Inputs  []string       `json:"inputs"`
}

// KeyOf computes the content address of a stage instance: the sha256 of
// the canonical JSON of its type name and version, its resolved params
// (map keys sorted) and its input keys in order. Env (mirror, cache
// directory, threads) is deliberately not part of it.
func KeyOf(t *StageType, params Params, inputKeys []string) string {
	if params == nil {
		params = Params{}
	}
	if inputKeys == nil {
		inputKeys = []string{}
	}
	b, err := json.Marshal(keyDoc{Type: t.Name, Version: t.Version, Params: params, Inputs: inputKeys})
	if err != nil {
		// Params are validated to JSON-able values; this is a bug.
		panic(fmt.Sprintf("pipeline: key of %s: %v", t.Name, err))
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// InstanceName formats an instance name: the stage, then its matrix values
// sorted by key, e.g. x[a=1,b=2].
func InstanceName(stage string, matrix map[string]string) string {
	if len(matrix) == 0 {
		return stage
	}
	keys := make([]string, 0, len(matrix))
	for k := range matrix {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(stage)
	b.WriteByte('[')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(matrix[k])
	}
	b.WriteByte(']')
	return b.String()
}

// order sorts the stages topologically, ties broken by file order.
func (l *loader) order() []*compiled {
	indeg := map[string]int{}
	children := map[string][]*compiled{}
	for _, c := range l.cs {
		indeg[c.st.Name] = len(c.needs)
		for _, n := range c.needs {
			children[n.stage] = append(children[n.stage], c)
		}
	}
	var ready []*compiled
	for _, c := range l.cs {
		if indeg[c.st.Name] == 0 {
			ready = append(ready, c)
		}
	}
	var out []*compiled
	for len(ready) > 0 {
		// Pick the ready stage that comes first in the file.
		best := 0
		for i := range ready {
			if ready[i].index < ready[best].index {
				best = i
			}
		}
		c := ready[best]
		ready = append(ready[:best], ready[best+1:]...)
		out = append(out, c)
		for _, ch := range children[c.st.Name] {
			indeg[ch.st.Name]--
			if indeg[ch.st.Name] == 0 {
				ready = append(ready, ch)
			}
		}
	}
	return out
}

// MaxStageInstances bounds how many instances one stage may expand to, so a
// typo in a matrix cannot exhaust memory.
const MaxStageInstances = 10000

// maxJoinWork bounds the pairs of instances one fan-out step compares, and
// MaxPlanInstances the size of a whole plan.
const (
	maxJoinWork      = 10_000_000
	MaxPlanInstances = 100_000
)

type tuple struct {
	labels map[string]string
	params map[string]any
	inputs [][]*Instance // per need
}

func compatible(a, b map[string]string) bool {
	for k, v := range b {
		if w, ok := a[k]; ok && w != v {
			return false
		}
	}
	return true
}

func union(a, b map[string]string) map[string]string {
	out := make(map[string]string, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// plan expands matrices and fans out over upstream instances.
func (l *loader) plan() *Plan {
	p := &Plan{DAG: l.dag, Params: l.pvals, byName: map[string]*Instance{}, byStage: map[string][]*Instance{}}
	for _, c := range l.order() {
		// The stage's own matrix: the cartesian product of its axes.
		tuples := []tuple{{labels: map[string]string{}, params: map[string]any{}, inputs: make([][]*Instance, len(c.needs))}}
		for _, ax := range c.axes {
			if len(tuples)*len(ax.vals) > MaxStageInstances {
				l.add(c.st.Line, c.st.Col, c.st.Name, "matrix", "the matrix expands to more than %d instances", MaxStageInstances)
				return p
			}
			var next []tuple
			for _, t := range tuples {
				for i, v := range ax.vals {
					nt := tuple{labels: union(t.labels, map[string]string{ax.key: ax.labels[i]}), params: map[string]any{}, inputs: make([][]*Instance, len(c.needs))}
					for k, pv := range t.params {
						nt.params[k] = pv
					}
					if !ax.selectOnly {
						nt.params[ax.key] = v
					}
					next = append(next, nt)
				}
			}
			tuples = next
		}
		// Fan out over every need through a single slot, joining on
		// matrix keys the tuple and the upstream instance share.
		for j, n := range c.needs {
			if n.many {
				continue
			}
			if len(tuples)*len(p.byStage[n.stage]) > maxJoinWork {
				l.add(n.need.Line, n.need.Col, c.st.Name, "needs", "fanning out %d instances over the %d instances of %q is too large a join", len(tuples), len(p.byStage[n.stage]), n.stage)
				return p
			}
			var next []tuple
			for _, t := range tuples {
				for _, up := range p.byStage[n.stage] {
					if !compatible(t.labels, up.Matrix) {
						continue
					}
					nt := tuple{labels: union(t.labels, up.Matrix), params: t.params, inputs: append([][]*Instance(nil), t.inputs...)}
					nt.inputs[j] = []*Instance{up}
					next = append(next, nt)
				}
				if len(next) > MaxStageInstances {
					l.add(n.need.Line, n.need.Col, c.st.Name, "needs", "fanning out over the needs gives more than %d instances", MaxStageInstances)
					return p
				}
			}
			if len(next) == 0 && len(tuples) > 0 {
				l.add(n.need.Line, n.need.Col, c.st.Name, "needs", "no instance of %q has matrix values matching the other inputs of %q: its instances are %s", n.stage, c.st.Name, instanceNames(p.byStage[n.stage]))
				return p
			}
			tuples = next
		}
		// Fan in: a need through a Many slot takes every matching instance.
		for ti := range tuples {
			t := &tuples[ti]
			for j, n := range c.needs {
				if !n.many {
					continue
				}
				for _, up := range p.byStage[n.stage] {
					if compatible(t.labels, up.Matrix) {
						t.inputs[j] = append(t.inputs[j], up)
					}
				}
				if len(t.inputs[j]) == 0 {
					l.add(n.need.Line, n.need.Col, c.st.Name, "needs", "no instance of %q matches %s", n.stage, InstanceName(c.st.Name, t.labels))
					return p
				}
			}
		}
		// A selector axis must name a matrix key that some input carries:
		// otherwise it is a typo that would run the same work twice.
		for _, ax := range c.axes {
			if !ax.selectOnly || len(tuples) == 0 {
				continue
			}
			carried := false
			for _, in := range tuples[0].inputs {
				for _, up := range in {
					if _, ok := up.Matrix[ax.key]; ok {
						carried = true
					}
				}
			}
			if !carried {
				var pnames []string
				for _, pd := range c.typ.Params {
					pnames = append(pnames, pd.Name)
				}
				l.add(ax.line, ax.col, c.st.Name, "matrix."+ax.key, "matrix key is not a parameter of %s%s nor a matrix key of its inputs; it takes: %s",
					c.typ.Name, suggest(ax.key, pnames), listOrNone(pnames))
				return p
			}
		}
		var insts []*Instance
		matrixErrReported := false
		for _, t := range tuples {
			params := Params{}
			for _, pd := range c.typ.Params {
				if pd.Default != nil {
					v, err := coerce(pd.Default, pd)
					if err != nil {
						l.add(c.st.UsesLine, c.st.UsesCol, c.st.Name, "uses", "stage type %s: default of %s: %v (a bug in the stage type)", c.typ.Name, pd.Name, err)
						continue
					}
					params[pd.Name] = v
				}
			}
			for k, v := range c.with {
				params[k] = v
			}
			for k, v := range t.params {
				params[k] = v
			}
			if err := substituteMatrix(c.typ, params, t.labels); err != nil && !matrixErrReported {
				matrixErrReported = true // once per stage, not once per instance
				l.add(c.st.UsesLine, c.st.UsesCol, c.st.Name, "with", "%v", err)
			}
			in := &Instance{Name: InstanceName(c.st.Name, t.labels), Stage: c.st.Name, Type: c.typ, Params: params, Matrix: t.labels}
			var keys []string
			for _, ups := range t.inputs {
				for _, up := range ups {
					in.Inputs = append(in.Inputs, up)
					keys = append(keys, up.Key)
				}
			}
			keyParams := params
			if c.typ.KeyParams != nil {
				kp, err := c.typ.KeyParams(params)
				if err != nil {
					l.add(c.st.UsesLine, c.st.UsesCol, c.st.Name, "with", "%v", err)
				} else {
					keyParams = kp
				}
			}
			in.Key = KeyOf(c.typ, keyParams, keys)
			insts = append(insts, in)
		}
		sort.Slice(insts, func(i, j int) bool { return insts[i].Name < insts[j].Name })
		for _, in := range insts {
			if _, dup := p.byName[in.Name]; dup {
				l.add(c.st.Line, c.st.Col, c.st.Name, "", "two instances are both named %q; give matrix keys distinct values", in.Name)
				continue
			}
			p.byName[in.Name] = in
			p.Instances = append(p.Instances, in)
		}
		p.byStage[c.st.Name] = insts
		if len(p.Instances) > MaxPlanInstances {
			l.add(c.st.Line, c.st.Col, c.st.Name, "", "the plan has more than %d instances", MaxPlanInstances)
			return p
		}
	}
	return p
}

func instanceNames(ins []*Instance) string {
	names := make([]string, len(ins))
	for i, in := range ins {
		names[i] = in.Name
	}
	return listOrNone(names)
}

// Describe writes the plan as text: one line per instance with its type,
// key prefix, matrix values and inputs. Golden tests and `lair validate`
// use it.
func (p *Plan) Describe() string {
	var b strings.Builder
	for _, in := range p.Instances {
		fmt.Fprintf(&b, "%s  uses=%s key=%s", in.Name, in.Type.Name, in.Key[:12])
		if len(in.Inputs) > 0 {
			names := make([]string, len(in.Inputs))
			for i, up := range in.Inputs {
				names[i] = up.Name
			}
			fmt.Fprintf(&b, " inputs=[%s]", strings.Join(names, " "))
		}
		keys := make([]string, 0, len(in.Params))
		for k := range in.Params {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, " %s=%s", k, scalarString(in.Params[k]))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

var matrixRefRE = regexp.MustCompile(`\$\{matrix\.([^}]*)\}`)

// substituteMatrix replaces ${matrix.KEY} in string and list-of-string
// parameters with the instance's matrix value of KEY (its own or inherited
// from upstream), so a stage can name its output after the sweep point, e.g.
// run_id: "tiny-${matrix.strategy}". Substituted values are type- and
// enum-checked again.
func substituteMatrix(typ *StageType, params Params, labels map[string]string) error {
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	sort.Strings(names)
	var missing string
	subst := func(s string) string {
		return matrixRefRE.ReplaceAllStringFunc(s, func(r string) string {
			key := r[len("${matrix.") : len(r)-1]
			v, ok := labels[key]
			if !ok {
				if missing == "" {
					missing = key
				}
				return r
			}
			return v
		})
	}
	for _, k := range names {
		switch v := params[k].(type) {
		case string:
			if !strings.Contains(v, "${matrix.") {
				continue
			}
			params[k] = subst(v)
		case []string:
			changed := false
			out := make([]string, len(v))
			for i, e := range v {
				out[i] = e
				if strings.Contains(e, "${matrix.") {
					out[i], changed = subst(e), true
				}
			}
			if !changed {
				continue
			}
			params[k] = out
		default:
			continue
		}
		if missing != "" {
			have := make([]string, 0, len(labels))
			for lk := range labels {
				have = append(have, lk)
			}
			sort.Strings(have)
			return fmt.Errorf("parameter %s refers to ${matrix.%s}, but this instance carries no such matrix value (it carries: %s)", k, missing, listOrNone(have))
		}
		if pd, ok := typ.Param(k); ok {
			v, err := coerce(params[k], pd)
			if err != nil {
				return fmt.Errorf("parameter %s: %v", k, err)
			}
			params[k] = v
		}
	}
	return nil
}
