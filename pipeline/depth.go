package pipeline

import "fmt"

// maxYAMLDepth bounds the nesting of a DAG file. The converter from the
// YAML library's tree applies the same bound per node; checkDepth applies it
// to the text, before the library parses anything.
const maxYAMLDepth = 200

// checkDepth scans YAML text for nesting deeper than max and reports the
// line and column where it is first exceeded. It runs before the YAML
// library, whose parser takes minutes and gigabytes on a few hundred
// kilobytes of deeply nested input; it is linear in the input and
// deliberately simple: block nesting is counted from indentation and from
// "- " entries that share a line, flow nesting from '[' and '{' at the start
// of a token, outside quotes, comments and block scalars. It counts at most
// one level per level the parser would make, so it never rejects a file the
// parser's own bound accepts.
func checkDepth(data []byte, max int) (line, col int, err error) {
	var (
		indents     []int // open block levels, by indentation
		flow        int   // open '[' and '{'
		quote       byte  // the open quote, or 0
		blockScalar = -1  // indentation of the line that opened a | or > block scalar
		lineNo      = 1
	)
	for i := 0; i < len(data); {
		// One line: data[i:end].
		end := i
		for end < len(data) && data[end] != '\n' {
			end++
		}
		ln := data[i:end]
		indent := 0
		for indent < len(ln) && ln[indent] == ' ' {
			indent++
		}
		blank := indent == len(ln) || ln[indent] == '#' || ln[indent] == '\r'
		if blockScalar >= 0 && (blank || indent > blockScalar) {
			i, lineNo = end+1, lineNo+1
			continue // the content of a block scalar is text
		}
		blockScalar = -1
		if blank && quote == 0 {
			i, lineNo = end+1, lineNo+1
			continue
		}
		if flow == 0 && quote == 0 {
			for len(indents) > 0 && indents[len(indents)-1] >= indent {
				indents = indents[:len(indents)-1]
			}
			indents = append(indents, indent)
		}
		dashes := 0
		lastNonSpace := byte(0)
		for j := indent; j < len(ln); j++ {
			c := ln[j]
			if quote != 0 {
				switch {
				case c == '\\' && quote == '"':
					j++
				case c == quote:
					quote = 0
				}
				continue
			}
			start := j == indent || ln[j-1] == ' ' || ln[j-1] == '\t' ||
				(flow > 0 && (ln[j-1] == '[' || ln[j-1] == '{' || ln[j-1] == ','))
			switch {
			case c == '#' && (j == 0 || ln[j-1] == ' ' || ln[j-1] == '\t'):
				j = len(ln) // a comment
				continue
			case (c == '"' || c == '\'') && (start || ln[j-1] == ':'):
				quote = c
			case (c == '[' || c == '{') && start:
				flow++
			case (c == ']' || c == '}') && flow > 0:
				flow--
			case c == '-' && flow == 0 && start && (j+1 == len(ln) || ln[j+1] == ' '):
				if j > indent {
					dashes++ // "- - x": one more level per entry on the line
				}
			}
			if c != ' ' && c != '\t' && c != '\r' {
				lastNonSpace = c
			}
			if len(indents)+dashes+flow > max {
				return lineNo, j + 1, fmt.Errorf("YAML nested more than %d levels deep", max)
			}
		}
		if flow == 0 && quote == 0 && (lastNonSpace == '|' || lastNonSpace == '>' || blockIndicator(ln)) {
			blockScalar = indent
		}
		i, lineNo = end+1, lineNo+1
	}
	return 0, 0, nil
}

// blockIndicator reports whether a line ends with a block scalar header
// such as "|-", "|+", ">2" or "|2-".
func blockIndicator(ln []byte) bool {
	j := len(ln)
	for j > 0 && (ln[j-1] == ' ' || ln[j-1] == '\r') {
		j--
	}
	k := j
	for k > 0 && (ln[k-1] == '-' || ln[k-1] == '+' || (ln[k-1] >= '1' && ln[k-1] <= '9')) {
		k--
	}
	return k < j && k > 0 && (ln[k-1] == '|' || ln[k-1] == '>') && (k == 1 || ln[k-2] == ' ')
}
