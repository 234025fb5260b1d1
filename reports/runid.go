package reports

import (
	"fmt"
	"strings"
)

// Label is one key=value of a run id's sweep label.
type Label struct{ Key, Value string }

// ParseRunID splits a run id of the form "name[k=v,k2=v2]" (the form
// DAGs give sweep points, e.g. run_id: "tiny[alpha=${matrix.alpha},seed=${matrix.seed}]")
// into its name and labels, in order. A run id without brackets has no
// labels. Keys must be non-empty, unique and free of "=", ",", "[" and "]".
func ParseRunID(id string) (name string, labels []Label, err error) {
	open := strings.IndexByte(id, '[')
	if open < 0 {
		if strings.ContainsAny(id, "]") {
			return "", nil, fmt.Errorf("run id %q: ] without [", id)
		}
		return id, nil, nil
	}
	if !strings.HasSuffix(id, "]") {
		return "", nil, fmt.Errorf("run id %q: want NAME[KEY=VALUE,...] ending in ]", id)
	}
	name, body := id[:open], id[open+1:len(id)-1]
	if strings.ContainsAny(body, "[]") {
		return "", nil, fmt.Errorf("run id %q: nested brackets in the label", id)
	}
	if body == "" {
		return name, nil, nil
	}
	for _, part := range strings.Split(body, ",") {
		k, v, ok := strings.Cut(part, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" || strings.Contains(v, "=") {
			return "", nil, fmt.Errorf("run id %q: label %q is not KEY=VALUE", id, part)
		}
		for _, l := range labels {
			if l.Key == k {
				return "", nil, fmt.Errorf("run id %q: label key %q twice", id, k)
			}
		}
		labels = append(labels, Label{k, v})
	}
	return name, labels, nil
}

// formatRunID is the inverse of ParseRunID.
func formatRunID(name string, labels []Label) string {
	if len(labels) == 0 {
		return name
	}
	parts := make([]string, len(labels))
	for i, l := range labels {
		parts[i] = l.Key + "=" + l.Value
	}
	return name + "[" + strings.Join(parts, ",") + "]"
}
