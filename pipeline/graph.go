package pipeline

import (
	"fmt"
	"strconv"
	"strings"
)

// GraphMermaid renders the plan's instances and their inputs as a Mermaid
// flowchart.
func GraphMermaid(p *Plan) string {
	var b strings.Builder
	b.WriteString("flowchart LR\n")
	id := map[string]string{}
	for i, in := range p.Instances {
		id[in.Name] = fmt.Sprintf("n%d", i)
		label := strings.ReplaceAll(in.Name, `"`, "#quot;") + "<br/><i>" + in.Type.Name + "</i>"
		fmt.Fprintf(&b, "  %s[\"%s\"]\n", id[in.Name], label)
	}
	for _, in := range p.Instances {
		for _, up := range in.Inputs {
			fmt.Fprintf(&b, "  %s --> %s\n", id[up.Name], id[in.Name])
		}
	}
	return b.String()
}

// GraphDot renders the plan as a Graphviz digraph.
func GraphDot(p *Plan) string {
	var b strings.Builder
	name := p.DAG.Name
	if name == "" {
		name = "lair"
	}
	fmt.Fprintf(&b, "digraph %s {\n  rankdir=LR;\n  node [shape=box];\n", strconv.Quote(name))
	for _, in := range p.Instances {
		fmt.Fprintf(&b, "  %s [label=%s];\n", strconv.Quote(in.Name), strconv.Quote(in.Name+"\n"+in.Type.Name))
	}
	for _, in := range p.Instances {
		for _, up := range in.Inputs {
			fmt.Fprintf(&b, "  %s -> %s;\n", strconv.Quote(up.Name), strconv.Quote(in.Name))
		}
	}
	b.WriteString("}\n")
	return b.String()
}
