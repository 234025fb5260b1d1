package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
)

// DAG is a parsed DAG file: names and positions, not yet checked against a
// Registry. Load turns it into a Plan.
type DAG struct {
	Path   string // the file as given
	Hash   string // sha256 of the file's bytes, hex
	Name   string
	Params []*DAGParam // in file order
	Stages []*Stage    // in file order
}

// DAGParam is one DAG-level parameter, referable from a stage's `with` as
// ${params.NAME}.
type DAGParam struct {
	Name      string
	Value     any // string, int64, float64, bool or []any
	Line, Col int
}

// Stage is one entry under `stages:`.
type Stage struct {
	Name      string
	Line, Col int
	Uses      string
	UsesLine  int
	UsesCol   int
	With      []*Setting
	Needs     []*Need
	Matrix    []*Axis
}

// Setting is one `with` entry.
type Setting struct {
	Name      string
	Line, Col int
	val       *ynode
}

// Need is one entry of `needs`.
type Need struct {
	Stage     string
	Line, Col int
}

// Axis is one `matrix` key with the values it sweeps.
type Axis struct {
	Key       string
	Line, Col int
	vals      []*ynode
	ref       bool // given as one scalar (a ${params.NAME} list reference)
}

var stageNameRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`)

// Parse reads a DAG file. It checks the file's shape (YAML syntax, known
// fields, value shapes) but not stage types, parameters or the graph: Load
// does that against a Registry. On shape errors it returns the partial DAG
// together with an ErrorList.
func Parse(file string, data []byte) (*DAG, error) {
	sum := sha256.Sum256(data)
	d := &DAG{Path: file, Hash: hex.EncodeToString(sum[:])}
	root, err := parseYAML(file, data)
	if root == nil {
		return nil, err
	}
	var errs ErrorList
	if el, ok := err.(ErrorList); ok {
		errs = append(errs, el...)
	}
	add := func(line, col int, stage, field, format string, args ...any) {
		errs = append(errs, &Error{File: file, Line: line, Col: col, Stage: stage, Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	if root.kind == nodeNull {
		add(1, 1, "", "", "empty DAG file: want a mapping with name, params and stages")
		return d, errs.Err()
	}
	if root.kind != nodeMap {
		add(root.line, root.col, "", "", "a DAG file is a mapping with name, params and stages, not a %s", root.kindName())
		return d, errs.Err()
	}
	haveStages := false
	for _, p := range root.pairs {
		switch p.key {
		case "name":
			if p.val.kind != nodeScalar {
				add(p.val.line, p.val.col, "", "name", "want a string, got a %s", p.val.kindName())
				continue
			}
			d.Name = scalarString(p.val.value)
		case "params":
			if p.val.kind == nodeNull {
				continue
			}
			if p.val.kind != nodeMap {
				add(p.val.line, p.val.col, "", "params", "want a mapping of name: value, got a %s", p.val.kindName())
				continue
			}
			for _, pp := range p.val.pairs {
				if pp.val.kind == nodeMap || pp.val.kind == nodeNull {
					add(pp.line, pp.col, "", "params."+pp.key, "a DAG parameter is a scalar or a list of scalars, not a %s", pp.val.kindName())
					continue
				}
				if pp.val.kind == nodeSeq {
					bad := false
					for _, it := range pp.val.items {
						if it.kind != nodeScalar {
							add(it.line, it.col, "", "params."+pp.key, "list items must be scalars, not a %s", it.kindName())
							bad = true
						}
					}
					if bad {
						continue
					}
				}
				d.Params = append(d.Params, &DAGParam{Name: pp.key, Value: pp.val.plain(), Line: pp.line, Col: pp.col})
			}
		case "stages":
			haveStages = true
			if p.val.kind == nodeNull {
				continue
			}
			if p.val.kind != nodeMap {
				add(p.val.line, p.val.col, "", "stages", "want a mapping of stage name: {uses, with, needs, matrix}, got a %s", p.val.kindName())
				continue
			}
			for _, sp := range p.val.pairs {
				if s := parseStage(file, sp, &errs); s != nil {
					d.Stages = append(d.Stages, s)
				}
			}
		default:
			add(p.line, p.col, "", p.key, "unknown field%s; a DAG file has name, params and stages", suggest(p.key, []string{"name", "params", "stages"}))
		}
	}
	if !haveStages {
		add(root.line, root.col, "", "stages", "missing: a DAG needs at least one stage")
	} else if len(d.Stages) == 0 && len(errs) == 0 {
		add(root.line, root.col, "", "stages", "empty: a DAG needs at least one stage")
	}
	return d, errs.Err()
}

var stageFields = []string{"uses", "with", "needs", "matrix"}

func parseStage(file string, sp ypair, errs *ErrorList) *Stage {
	add := func(line, col int, field, format string, args ...any) {
		*errs = append(*errs, &Error{File: file, Line: line, Col: col, Stage: sp.key, Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	s := &Stage{Name: sp.key, Line: sp.line, Col: sp.col}
	usesGiven := false
	if !stageNameRE.MatchString(sp.key) {
		add(sp.line, sp.col, "", "invalid stage name: use letters, digits, '_', '.' and '-'")
	}
	v := sp.val
	if v.kind != nodeMap {
		add(sp.line, sp.col, "", "want a mapping {uses, with, needs, matrix}, got a %s", v.kindName())
		return s
	}
	for _, f := range v.pairs {
		switch f.key {
		case "uses":
			usesGiven = true
			if f.val.kind != nodeScalar {
				add(f.val.line, f.val.col, "uses", "want a stage type name, got a %s", f.val.kindName())
				continue
			}
			s.Uses, s.UsesLine, s.UsesCol = scalarString(f.val.value), f.val.line, f.val.col
		case "with":
			switch f.val.kind {
			case nodeNull:
			case nodeMap:
				for _, w := range f.val.pairs {
					s.With = append(s.With, &Setting{Name: w.key, Line: w.line, Col: w.col, val: w.val})
				}
			default:
				add(f.val.line, f.val.col, "with", "want a mapping of parameter: value, got a %s", f.val.kindName())
			}
		case "needs":
			switch f.val.kind {
			case nodeNull:
			case nodeScalar:
				s.Needs = append(s.Needs, &Need{Stage: scalarString(f.val.value), Line: f.val.line, Col: f.val.col})
			case nodeSeq:
				for i, it := range f.val.items {
					if it.kind != nodeScalar {
						add(it.line, it.col, fmt.Sprintf("needs[%d]", i), "want a stage name, got a %s", it.kindName())
						continue
					}
					s.Needs = append(s.Needs, &Need{Stage: scalarString(it.value), Line: it.line, Col: it.col})
				}
			default:
				add(f.val.line, f.val.col, "needs", "want a stage name or a list of them, got a %s", f.val.kindName())
			}
		case "matrix":
			switch f.val.kind {
			case nodeMap:
				if len(f.val.pairs) == 0 {
					add(f.line, f.col, "matrix", "empty matrix: give at least one key with a list of values")
				}
				for _, a := range f.val.pairs {
					ax := &Axis{Key: a.key, Line: a.line, Col: a.col}
					switch a.val.kind {
					case nodeSeq:
						for _, it := range a.val.items {
							if it.kind != nodeScalar {
								add(it.line, it.col, "matrix."+a.key, "matrix values must be scalars, not a %s", it.kindName())
								continue
							}
							ax.vals = append(ax.vals, it)
						}
						if len(a.val.items) == 0 {
							add(a.line, a.col, "matrix."+a.key, "empty matrix: the list of values is empty")
						}
					case nodeScalar:
						// A ${params.NAME} reference to a list parameter.
						ax.vals = append(ax.vals, a.val)
						ax.ref = true
					default:
						add(a.line, a.col, "matrix."+a.key, "want a list of values, got a %s", a.val.kindName())
					}
					s.Matrix = append(s.Matrix, ax)
				}
			case nodeNull:
				add(f.line, f.col, "matrix", "empty matrix: give at least one key with a list of values")
			default:
				add(f.val.line, f.val.col, "matrix", "want a mapping of parameter: [values], got a %s", f.val.kindName())
			}
		default:
			add(f.line, f.col, f.key, "unknown field%s; a stage has uses, with, needs and matrix", suggest(f.key, stageFields))
		}
	}
	if s.Uses == "" && !usesGiven {
		add(sp.line, sp.col, "uses", "missing: name the stage type (see `lair stages`)")
	}
	return s
}
