package pipeline

import (
	"fmt"
	"math"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// LoadOptions change how a DAG file is loaded.
type LoadOptions struct {
	// Set overrides DAG-level params, as `lair run --set name=value` does.
	// The value is parsed with the type of the param's value in the file
	// (a list param takes comma-separated values).
	Set map[string]string
}

// LoadFile reads, validates and plans the DAG file at path.
func LoadFile(path string, reg *Registry, opts LoadOptions) (*Plan, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read DAG file: %w", err)
	}
	return Load(path, data, reg, opts)
}

// Load parses, validates and plans a DAG file. Every problem is reported,
// not just the first: the error is an ErrorList sorted by line, each entry
// naming file, line, stage and field.
func Load(file string, data []byte, reg *Registry, opts LoadOptions) (*Plan, error) {
	d, err := Parse(file, data)
	if d == nil {
		return nil, err
	}
	var errs ErrorList
	if el, ok := err.(ErrorList); ok {
		errs = append(errs, el...)
	} else if err != nil {
		return nil, err
	}
	l := &loader{file: file, dag: d, reg: reg, errs: errs}
	l.params(opts.Set)
	l.stages()
	if len(l.errs) > 0 {
		return nil, l.errs.Err()
	}
	p := l.plan()
	if len(l.errs) > 0 {
		return nil, l.errs.Err()
	}
	return p, nil
}

type loader struct {
	file   string
	dag    *DAG
	reg    *Registry
	errs   ErrorList
	pvals  map[string]any // resolved DAG params
	pnames []string
	cs     []*compiled
	byName map[string]*compiled
}

type compiled struct {
	st    *Stage
	typ   *StageType
	with  map[string]any
	axes  []compiledAxis
	needs []compiledNeed
	edges []*Need // every need naming a known other stage, for cycle detection
	index int
}

type compiledAxis struct {
	key    string
	vals   []any
	labels []string
	// selectOnly: the key is not a parameter of the stage type but a
	// matrix key of its inputs; it only selects which upstream instances
	// the stage runs on (plan checks that some input carries it).
	selectOnly bool
	line, col  int
}

type compiledNeed struct {
	stage string
	many  bool
	need  *Need
}

func (l *loader) add(line, col int, stage, field, format string, args ...any) {
	l.errs = append(l.errs, &Error{File: l.file, Line: line, Col: col, Stage: stage, Field: field, Msg: fmt.Sprintf(format, args...)})
}

// params resolves the DAG-level params and applies overrides.
func (l *loader) params(set map[string]string) {
	l.pvals = map[string]any{}
	for _, p := range l.dag.Params {
		l.pvals[p.Name] = p.Value
		l.pnames = append(l.pnames, p.Name)
	}
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		old, ok := l.pvals[k]
		if !ok {
			l.add(0, 0, "", "--set "+k, "no DAG param %q%s; the DAG's params are: %s", k, suggest(k, l.pnames), listOrNone(l.pnames))
			continue
		}
		v, err := parseOverride(set[k], old)
		if err != nil {
			l.add(0, 0, "", "--set "+k, "%v", err)
			continue
		}
		l.pvals[k] = v
	}
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "(none)"
	}
	return strings.Join(s, ", ")
}

// parseOverride parses a --set value with the type of the param it replaces.
func parseOverride(s string, old any) (any, error) {
	switch old.(type) {
	case int64, uint64:
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("want an integer, got %q", s)
		}
		return n, nil
	case float64:
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return nil, fmt.Errorf("want a number, got %q", s)
		}
		return f, nil
	case bool:
		b, err := strconv.ParseBool(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("want true or false, got %q", s)
		}
		return b, nil
	case []any:
		var out []any
		for _, e := range strings.Split(s, ",") {
			if e = strings.TrimSpace(e); e != "" {
				out = append(out, e)
			}
		}
		return out, nil
	}
	return s, nil
}

var refRE = regexp.MustCompile(`\$\{([^}]*)\}`)

// resolve substitutes ${params.NAME} references in a scalar. A whole-value
// reference keeps the param's type; a reference inside a longer string is
// formatted into it. ${matrix.KEY} references are left for planning, when
// each instance's matrix values are known.
func (l *loader) resolve(n *ynode, stage, field string) (any, bool) {
	s, ok := n.value.(string)
	if !ok || !strings.Contains(s, "${") {
		return n.value, true
	}
	ok = true
	lookup := func(ref string) (any, bool) {
		if strings.HasPrefix(ref, "matrix.") {
			// Matrix values are known per instance: substituted at planning
			// (substituteMatrix).
			return "${" + ref + "}", true
		}
		name, found := strings.CutPrefix(ref, "params.")
		if !found {
			l.add(n.line, n.col, stage, field, "unknown reference ${%s}: only ${params.NAME} and ${matrix.KEY} are supported", ref)
			return nil, false
		}
		v, found := l.pvals[name]
		if !found {
			l.add(n.line, n.col, stage, field, "unknown DAG param ${params.%s}%s; the DAG's params are: %s", name, suggest(name, l.pnames), listOrNone(l.pnames))
			return nil, false
		}
		return v, true
	}
	if m := refRE.FindStringSubmatchIndex(s); m != nil && m[0] == 0 && m[1] == len(s) {
		return lookup(s[m[2]:m[3]])
	}
	out := refRE.ReplaceAllStringFunc(s, func(r string) string {
		v, found := lookup(r[2 : len(r)-1])
		if !found {
			ok = false
			return r
		}
		if list, isList := v.([]any); isList {
			parts := make([]string, len(list))
			for i, e := range list {
				parts[i] = scalarString(e)
			}
			return strings.Join(parts, ",")
		}
		return scalarString(v)
	})
	return out, ok
}

// coerce checks v against a parameter type and converts it to the Go type
// stages read: string, int, float64, bool or []string.
func coerce(v any, p Param) (any, error) {
	var out any
	switch p.Type {
	case TypeString:
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("want a string, got %s", describe(v))
		}
		out = s
	case TypeInt:
		switch x := v.(type) {
		case int:
			out = x
		case int64:
			out = int(x)
		case uint64:
			return nil, fmt.Errorf("integer %d is too large", x)
		default:
			return nil, fmt.Errorf("want an integer, got %s", describe(v))
		}
	case TypeFloat:
		switch x := v.(type) {
		case int:
			out = float64(x)
		case int64:
			out = float64(x)
		case float64:
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return nil, fmt.Errorf("want a finite number, got %v", x)
			}
			out = x
		default:
			return nil, fmt.Errorf("want a number, got %s", describe(v))
		}
	case TypeBool:
		b, ok := v.(bool)
		if !ok {
			return nil, fmt.Errorf("want true or false, got %s", describe(v))
		}
		out = b
	case TypeStrings:
		switch x := v.(type) {
		case []string:
			out = append([]string(nil), x...)
		case []any:
			ss := make([]string, len(x))
			for i, e := range x {
				ss[i] = scalarString(e)
			}
			out = ss
		case string:
			var ss []string
			for _, e := range strings.Split(x, ",") {
				if e = strings.TrimSpace(e); e != "" {
					ss = append(ss, e)
				}
			}
			if ss == nil {
				ss = []string{}
			}
			out = ss
		default:
			return nil, fmt.Errorf("want a list of strings, got %s", describe(v))
		}
	default:
		return nil, fmt.Errorf("stage type declares unknown param type %q", p.Type)
	}
	if len(p.Enum) > 0 {
		vals := []string{}
		switch x := out.(type) {
		case string:
			vals = append(vals, x)
		case []string:
			vals = x
		}
		for _, s := range vals {
			if strings.Contains(s, "${matrix.") {
				continue // checked again once the instance's matrix value is in (substituteMatrix)
			}
			if !contains(p.Enum, s) {
				return nil, fmt.Errorf("%q is not one of %s%s", s, strings.Join(p.Enum, ", "), suggest(s, p.Enum))
			}
		}
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

func describe(v any) string {
	switch x := v.(type) {
	case string:
		return fmt.Sprintf("string %q", x)
	case int64, int, uint64:
		return fmt.Sprintf("integer %v", x)
	case float64:
		return fmt.Sprintf("number %v", x)
	case bool:
		return fmt.Sprintf("boolean %v", x)
	case []any, []string:
		return "a list"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

// stages checks every stage against the registry and the graph.
func (l *loader) stages() {
	l.byName = map[string]*compiled{}
	for i, s := range l.dag.Stages {
		c := &compiled{st: s, with: map[string]any{}, index: i}
		l.cs = append(l.cs, c)
		l.byName[s.Name] = c
	}
	names := make([]string, 0, len(l.cs))
	for _, c := range l.cs {
		names = append(names, c.st.Name)
	}
	for _, c := range l.cs {
		l.stage(c)
	}
	for _, c := range l.cs {
		l.needs(c, names)
	}
	l.cycles()
}

func (l *loader) stage(c *compiled) {
	s := c.st
	if s.Uses == "" {
		return
	}
	t, ok := l.reg.Lookup(s.Uses)
	if !ok {
		l.add(s.UsesLine, s.UsesCol, s.Name, "uses", "unknown stage type %q%s; `lair stages` lists them", s.Uses, suggest(s.Uses, l.reg.Names()))
		return
	}
	c.typ = t
	pnames := make([]string, len(t.Params))
	for i, p := range t.Params {
		pnames[i] = p.Name
	}
	given := map[string]bool{}
	for _, w := range s.With {
		field := "with." + w.Name
		given[w.Name] = true
		p, ok := t.Param(w.Name)
		if !ok {
			l.add(w.Line, w.Col, s.Name, field, "unknown parameter of %s%s; it takes: %s", t.Name, suggest(w.Name, pnames), listOrNone(pnames))
			continue
		}
		var raw any
		switch w.val.kind {
		case nodeScalar:
			v, ok := l.resolve(w.val, s.Name, field)
			if !ok {
				continue
			}
			raw = v
		case nodeSeq:
			list := make([]any, 0, len(w.val.items))
			bad := false
			for _, it := range w.val.items {
				if it.kind != nodeScalar {
					l.add(it.line, it.col, s.Name, field, "list items must be scalars, not a %s", it.kindName())
					bad = true
					continue
				}
				v, ok := l.resolve(it, s.Name, field)
				if !ok {
					bad = true
					continue
				}
				list = append(list, v)
			}
			if bad {
				continue
			}
			raw = list
		case nodeNull:
			l.add(w.Line, w.Col, s.Name, field, "no value: give one or remove the line to use the default")
			continue
		default:
			l.add(w.val.line, w.val.col, s.Name, field, "want a %s, got a %s", p.Type, w.val.kindName())
			continue
		}
		v, err := coerce(raw, p)
		if err != nil {
			l.add(w.val.line, w.val.col, s.Name, field, "%v", err)
			continue
		}
		c.with[w.Name] = v
	}
	inMatrix := map[string]bool{}
	for _, ax := range s.Matrix {
		field := "matrix." + ax.Key
		p, ok := t.Param(ax.Key)
		ca := compiledAxis{key: ax.Key, line: ax.Line, col: ax.Col}
		if !ok {
			if !l.anyMatrixKey(ax.Key, s.Name) {
				l.add(ax.Line, ax.Col, s.Name, field, "matrix key is not a parameter of %s%s; it takes: %s", t.Name, suggest(ax.Key, pnames), listOrNone(pnames))
				continue
			}
			// not a parameter but another stage's matrix key: a selector of
			// upstream instances by their matrix value (plan checks that an
			// input carries it)
			p = Param{Name: ax.Key, Type: TypeString}
			ca.selectOnly = true
		}
		inMatrix[ax.Key] = true
		if given[ax.Key] {
			l.add(ax.Line, ax.Col, s.Name, field, "parameter is set both in with and in matrix; keep one")
			continue
		}
		seen := map[string]bool{}
		for _, n := range ax.vals {
			v, ok := l.resolve(n, s.Name, field)
			if !ok {
				continue
			}
			items := []any{v}
			if list, isList := v.([]any); isList {
				items = list
			} else if ax.ref {
				l.add(n.line, n.col, s.Name, field, "want a list of values or a ${params.NAME} reference to a list, got %s", describe(v))
				continue
			}
			if len(items) == 0 {
				l.add(n.line, n.col, s.Name, field, "empty matrix: the list of values is empty")
			}
			for _, it := range items {
				cv, err := coerce(it, p)
				if err != nil {
					l.add(n.line, n.col, s.Name, field, "%v", err)
					continue
				}
				label := scalarString(cv)
				if seen[label] {
					l.add(n.line, n.col, s.Name, field, "value %q appears twice", label)
					continue
				}
				seen[label] = true
				ca.vals = append(ca.vals, cv)
				ca.labels = append(ca.labels, label)
			}
		}
		c.axes = append(c.axes, ca)
	}
	for _, p := range t.Params {
		if !p.Required {
			continue
		}
		if given[p.Name] || inMatrix[p.Name] {
			continue
		}
		l.add(s.Line, s.Col, s.Name, "with."+p.Name, "missing required parameter of %s (%s): %s", t.Name, p.Type, p.Doc)
	}
}

// anyMatrixKey reports whether a stage other than self has key in its matrix.
func (l *loader) anyMatrixKey(key, self string) bool {
	for _, st := range l.dag.Stages {
		if st.Name == self {
			continue
		}
		for _, ax := range st.Matrix {
			if ax.Key == key {
				return true
			}
		}
	}
	return false
}

func (l *loader) needs(c *compiled, names []string) {
	s := c.st
	seen := map[string]bool{}
	allKnown := c.typ != nil
	var filled []int
	if c.typ != nil {
		filled = make([]int, len(c.typ.Inputs))
	}
	for i, n := range s.Needs {
		field := fmt.Sprintf("needs[%d]", i)
		up, ok := l.byName[n.Stage]
		if !ok {
			l.add(n.Line, n.Col, s.Name, field, "unknown stage %q%s", n.Stage, suggest(n.Stage, names))
			allKnown = false
			continue
		}
		if n.Stage == s.Name {
			l.add(n.Line, n.Col, s.Name, field, "a stage cannot need itself")
			allKnown = false
			continue
		}
		if seen[n.Stage] {
			l.add(n.Line, n.Col, s.Name, field, "%q is listed twice", n.Stage)
			continue
		}
		seen[n.Stage] = true
		c.edges = append(c.edges, n)
		cn := compiledNeed{stage: n.Stage, need: n}
		if c.typ == nil || up.typ == nil {
			allKnown = false
			c.needs = append(c.needs, cn)
			continue
		}
		kind := up.typ.Output
		slot := -1
		for j, in := range c.typ.Inputs {
			if in.Kind == kind && (in.Many || filled[j] == 0) {
				slot = j
				break
			}
		}
		if slot < 0 {
			takes := []string{}
			for _, in := range c.typ.Inputs {
				takes = append(takes, string(in.Kind))
			}
			has := false
			for _, in := range c.typ.Inputs {
				has = has || in.Kind == kind
			}
			allKnown = false // do not also report the slot this need was meant for as missing
			if has {
				l.add(n.Line, n.Col, s.Name, field, "%q makes a %s, but every %s input of %s is already filled", n.Stage, kind, kind, c.typ.Name)
			} else {
				l.add(n.Line, n.Col, s.Name, field, "kind mismatch: %q (%s) makes a %s, but %s takes: %s", n.Stage, up.typ.Name, kind, c.typ.Name, listOrNone(takes))
			}
			continue
		}
		filled[slot]++
		cn.many = c.typ.Inputs[slot].Many
		c.needs = append(c.needs, cn)
	}
	if allKnown {
		for j, in := range c.typ.Inputs {
			if filled[j] == 0 && !in.Optional {
				line, col := s.Line, s.Col
				l.add(line, col, s.Name, "needs", "required input missing: %s takes a %s (%s); add a stage that makes one to needs", c.typ.Name, in.Kind, in.Doc)
			}
		}
	}
}

// cycles reports every cycle among the stages, as a -> b -> a.
func (l *loader) cycles() {
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	var stack []string
	reported := map[string]bool{}
	var visit func(c *compiled)
	visit = func(c *compiled) {
		color[c.st.Name] = grey
		stack = append(stack, c.st.Name)
		for _, n := range c.edges {
			up := l.byName[n.Stage]
			switch color[n.Stage] {
			case white:
				visit(up)
			case grey:
				// The cycle is the stack from n.stage to here.
				i := len(stack) - 1
				for stack[i] != n.Stage {
					i--
				}
				cyc := append([]string(nil), stack[i:]...)
				// Canonical rotation, to report each cycle once.
				min := 0
				for j := range cyc {
					if cyc[j] < cyc[min] {
						min = j
					}
				}
				rot := append(append([]string(nil), cyc[min:]...), cyc[:min]...)
				id := strings.Join(rot, " ")
				if reported[id] {
					continue
				}
				reported[id] = true
				// Print in needs order (a needs b: a -> b), from the canonical start.
				path := append(rot, rot[0])
				first := l.byName[rot[0]]
				line, col := first.st.Line, first.st.Col
				for _, fn := range first.edges {
					if fn.Stage == rot[1] {
						line, col = fn.Line, fn.Col
					}
				}
				// stack order is "x needs y" along increasing index.
				l.add(line, col, rot[0], "needs", "cycle: %s", strings.Join(path, " -> "))
			}
		}
		stack = stack[:len(stack)-1]
		color[c.st.Name] = black
	}
	for _, c := range l.cs {
		if color[c.st.Name] == white {
			visit(c)
		}
	}
}
