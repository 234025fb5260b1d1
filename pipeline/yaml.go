package pipeline

import (
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// nodeKind is the shape of a YAML node.
type nodeKind int

const (
	nodeNull nodeKind = iota
	nodeScalar
	nodeMap
	nodeSeq
)

// ynode is a YAML value with its position: the small tree the DAG parser
// walks, so every value keeps the line it came from.
type ynode struct {
	kind  nodeKind
	value any // scalar: string, int64, uint64, float64 or bool
	pairs []ypair
	items []*ynode
	line  int
	col   int
}

type ypair struct {
	key       string
	line, col int
	val       *ynode
}

func (n *ynode) kindName() string {
	switch n.kind {
	case nodeNull:
		return "null"
	case nodeMap:
		return "mapping"
	case nodeSeq:
		return "sequence"
	}
	switch n.value.(type) {
	case string:
		return "string"
	case int64, uint64:
		return "integer"
	case float64:
		return "float"
	case bool:
		return "boolean"
	}
	return "scalar"
}

// plain converts the node into plain Go values (for DAG params).
func (n *ynode) plain() any {
	switch n.kind {
	case nodeScalar:
		return n.value
	case nodeSeq:
		out := make([]any, len(n.items))
		for i, it := range n.items {
			out[i] = it.plain()
		}
		return out
	case nodeMap:
		out := map[string]any{}
		for _, p := range n.pairs {
			out[p.key] = p.val.plain()
		}
		return out
	}
	return nil
}

// yamlConverter turns goccy's AST into ynodes, resolving anchors and aliases.
type yamlConverter struct {
	file    string
	anchors map[string]*ynode
	errs    ErrorList
	depth   int
}

func pos(tk *token.Token) (int, int) {
	if tk == nil || tk.Position == nil {
		return 0, 0
	}
	return tk.Position.Line, tk.Position.Column
}

func (c *yamlConverter) errorf(line, col int, format string, args ...any) {
	c.errs = append(c.errs, &Error{File: c.file, Line: line, Col: col, Msg: fmt.Sprintf(format, args...)})
}

// parseYAML parses data into one ynode tree. A YAML syntax error is
// returned as an ErrorList naming the line and column.
func parseYAML(file string, data []byte) (root *ynode, err error) {
	defer func() {
		// The YAML library must never take lair down with it: a panic on
		// hostile input becomes a syntax error.
		if r := recover(); r != nil {
			root, err = nil, ErrorList{{File: file, Msg: fmt.Sprintf("YAML parser failed: %v", r)}}
		}
	}()
	if line, col, derr := checkDepth(data, maxYAMLDepth); derr != nil {
		return nil, ErrorList{{File: file, Line: line, Col: col, Msg: derr.Error() + ": flatten the file"}}
	}
	f, perr := parser.ParseBytes(data, 0, parser.AllowDuplicateMapKey())
	if perr != nil {
		var ye yaml.Error
		if errors.As(perr, &ye) {
			line, col := pos(ye.GetToken())
			return nil, ErrorList{{File: file, Line: line, Col: col, Msg: "YAML syntax: " + ye.GetMessage()}}
		}
		return nil, ErrorList{{File: file, Msg: "YAML syntax: " + perr.Error()}}
	}
	c := &yamlConverter{file: file, anchors: map[string]*ynode{}}
	var docs []*ast.DocumentNode
	for _, d := range f.Docs {
		if d != nil && d.Body != nil {
			docs = append(docs, d)
		}
	}
	if len(docs) == 0 {
		return &ynode{kind: nodeNull, line: 1, col: 1}, nil
	}
	if len(docs) > 1 {
		line, col := pos(docs[1].GetToken())
		c.errorf(line, col, "a DAG file holds one YAML document, found %d", len(docs))
	}
	root = c.convert(docs[0].Body, "")
	if len(c.errs) > 0 {
		// Structural problems (duplicate keys, unknown aliases): keep
		// going so the caller can report everything else too.
		return root, c.errs
	}
	return root, nil
}

func (c *yamlConverter) convert(n ast.Node, path string) *ynode {
	if n == nil {
		return &ynode{kind: nodeNull}
	}
	c.depth++
	defer func() { c.depth-- }()
	line, col := pos(n.GetToken())
	if c.depth > maxYAMLDepth {
		c.errorf(line, col, "YAML nested too deeply")
		return &ynode{kind: nodeNull, line: line, col: col}
	}
	switch v := n.(type) {
	case *ast.NullNode:
		return &ynode{kind: nodeNull, line: line, col: col}
	case *ast.StringNode:
		return &ynode{kind: nodeScalar, value: v.Value, line: line, col: col}
	case *ast.LiteralNode:
		s := ""
		if v.Value != nil {
			s = v.Value.Value
		}
		return &ynode{kind: nodeScalar, value: s, line: line, col: col}
	case *ast.IntegerNode:
		switch x := v.Value.(type) {
		case int64:
			return &ynode{kind: nodeScalar, value: x, line: line, col: col}
		case uint64:
			if x <= math.MaxInt64 {
				return &ynode{kind: nodeScalar, value: int64(x), line: line, col: col}
			}
			return &ynode{kind: nodeScalar, value: x, line: line, col: col}
		}
		return &ynode{kind: nodeScalar, value: fmt.Sprint(v.Value), line: line, col: col}
	case *ast.FloatNode:
		return &ynode{kind: nodeScalar, value: v.Value, line: line, col: col}
	case *ast.InfinityNode:
		return &ynode{kind: nodeScalar, value: v.Value, line: line, col: col}
	case *ast.NanNode:
		return &ynode{kind: nodeScalar, value: math.NaN(), line: line, col: col}
	case *ast.BoolNode:
		return &ynode{kind: nodeScalar, value: v.Value, line: line, col: col}
	case *ast.TagNode:
		return c.convert(v.Value, path)
	case *ast.AnchorNode:
		out := c.convert(v.Value, path)
		if v.Name != nil {
			c.anchors[v.Name.GetToken().Value] = out
		}
		return out
	case *ast.AliasNode:
		name := ""
		if v.Value != nil && v.Value.GetToken() != nil {
			name = v.Value.GetToken().Value
		}
		if a, ok := c.anchors[name]; ok {
			return a
		}
		c.errorf(line, col, "unknown YAML alias *%s", name)
		return &ynode{kind: nodeNull, line: line, col: col}
	case *ast.MappingNode:
		out := &ynode{kind: nodeMap, line: line, col: col}
		if len(v.Values) > 0 {
			out.line, out.col = pos(v.Values[0].Key.GetToken())
		}
		for _, mv := range v.Values {
			c.addPair(out, mv, path)
		}
		return out
	case *ast.MappingValueNode:
		out := &ynode{kind: nodeMap}
		out.line, out.col = pos(v.Key.GetToken())
		c.addPair(out, v, path)
		return out
	case *ast.SequenceNode:
		out := &ynode{kind: nodeSeq, line: line, col: col}
		for _, it := range v.Values {
			out.items = append(out.items, c.convert(it, path+"[]"))
		}
		return out
	case *ast.CommentGroupNode, *ast.CommentNode:
		return &ynode{kind: nodeNull, line: line, col: col}
	case *ast.MappingKeyNode:
		return c.convert(v.Value, path)
	}
	c.errorf(line, col, "unsupported YAML construct (%s)", n.Type())
	return &ynode{kind: nodeNull, line: line, col: col}
}

func (c *yamlConverter) addPair(m *ynode, mv *ast.MappingValueNode, path string) {
	if mv == nil || mv.Key == nil {
		return
	}
	kl, kc := pos(mv.Key.GetToken())
	if mv.Key.IsMergeKey() {
		c.errorf(kl, kc, "YAML merge keys (<<) are not supported in DAG files")
		return
	}
	var key string
	kn := c.convert(mv.Key, path)
	switch kn.kind {
	case nodeScalar:
		key = scalarString(kn.value)
	case nodeNull:
		key = ""
	default:
		c.errorf(kl, kc, "mapping keys must be plain scalars, not a %s", kn.kindName())
		return
	}
	for _, p := range m.pairs {
		if p.key == key {
			if path == "stages" {
				c.errorf(kl, kc, "duplicate stage name %q (first defined at line %d)", key, p.line)
			} else {
				c.errorf(kl, kc, "duplicate key %q (first at line %d)", key, p.line)
			}
			return
		}
	}
	sub := key
	if path != "" {
		sub = path + "." + key
	}
	m.pairs = append(m.pairs, ypair{key: key, line: kl, col: kc, val: c.convert(mv.Value, sub)})
}

// scalarString formats a scalar the way it reads in YAML.
func scalarString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case uint64:
		return strconv.FormatUint(x, 10)
	case int:
		return strconv.Itoa(x)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case []string:
		s := ""
		for i, e := range x {
			if i > 0 {
				s += ","
			}
			s += e
		}
		return s
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}
