package pipeline

import (
	"errors"
	"fmt"
)

// Check verifies every registered declaration: known param types and
// artifact kinds, defaults of the declared type and inside the enum, no
// duplicate param names, a Run function. A test of the real registry calls
// it so a bad declaration fails `make test` rather than a user's run.
func (r *Registry) Check() error {
	var errs []error
	for _, n := range r.Names() {
		t := r.types[n]
		bad := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("stage type %s: %s", n, fmt.Sprintf(format, args...)))
		}
		if t.Run == nil {
			bad("no Run function")
		}
		if _, ok := ArtifactKinds[t.Output]; !ok {
			bad("output kind %q is not in pipeline.ArtifactKinds", t.Output)
		}
		for _, in := range t.Inputs {
			if _, ok := ArtifactKinds[in.Kind]; !ok {
				bad("input kind %q is not in pipeline.ArtifactKinds", in.Kind)
			}
		}
		seen := map[string]bool{}
		for _, p := range t.Params {
			if seen[p.Name] {
				bad("param %s declared twice", p.Name)
			}
			seen[p.Name] = true
			switch p.Type {
			case TypeString, TypeInt, TypeFloat, TypeBool, TypeStrings:
			default:
				bad("param %s: unknown type %q", p.Name, p.Type)
				continue
			}
			if p.Default != nil {
				if p.Required {
					bad("param %s is required and has a default", p.Name)
				}
				if _, err := coerce(p.Default, p); err != nil {
					bad("param %s: default %v: %v", p.Name, p.Default, err)
				}
			}
			if len(p.Enum) > 0 && p.Type != TypeString && p.Type != TypeStrings {
				bad("param %s: enum on a %s param", p.Name, p.Type)
			}
		}
	}
	return errors.Join(errs...)
}
