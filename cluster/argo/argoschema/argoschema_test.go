package argoschema_test

import (
	"strings"
	"testing"

	"github.com/lair-ir/lair/cluster/argo/argoschema"
)

func TestValidateYAML(t *testing.T) {
	good := `apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: x-}
spec:
  entrypoint: main
  templates:
    - name: main
      container: {image: busybox, command: [echo, hi]}
      retryStrategy: {limit: "2"}
`
	if err := argoschema.ValidateYAML([]byte(good)); err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string]string{
		"kind":        strings.Replace(good, "kind: Workflow", "kind: Pod", 1),
		"int limit":   strings.Replace(good, `limit: "2"`, `limit: 2`, 1),
		"no metadata": strings.Replace(good, "metadata: {generateName: x-}\n", "", 1),
		"not yaml":    "a: [",
	} {
		if err := argoschema.ValidateYAML([]byte(bad)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
