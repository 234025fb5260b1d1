package argo_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/lair-ir/lair/cluster/argo"
)

// TestDockerfileMatches checks the repository's Dockerfile (which no test
// here can build: there is no Docker) against what the exported manifests
// and the Makefile assume: the working directory, the lair binary on
// PATH, the dags/ folder, LAIR_ORT_LIB, the ONNX Runtime version and
// checksums, the Go version and a cgo build.
func TestDockerfileMatches(t *testing.T) {
	df, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	mk, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	gomod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	d := string(df)
	want := []string{
		"WORKDIR " + argo.DefaultWorkingDir,
		"COPY --from=build /out/lair /usr/local/bin/lair",
		"COPY dags/ dags/",
		"ENV LAIR_ORT_LIB=/opt/onnxruntime/libonnxruntime.so.1",
		"COPY --from=ort /out/libonnxruntime.so.1 /opt/onnxruntime/libonnxruntime.so.1",
		"ENV CGO_ENABLED=1",
		"npm pack --silent onnxruntime-node@${ORT_VERSION}",
		"go build -trimpath -o /out/lair ./cmd/lair",
	}
	for _, w := range want {
		if !strings.Contains(d, w) {
			t.Errorf("Dockerfile lacks %q", w)
		}
	}
	for _, v := range []string{"ORT_VERSION", "ORT_TGZ_SHA256", "ORT_LIB_SHA256"} {
		mm := regexp.MustCompile(`(?m)^` + v + ` := (\S+)$`).FindStringSubmatch(string(mk))
		dm := regexp.MustCompile(`(?m)^ARG ` + v + `=(\S+)$`).FindStringSubmatch(d)
		if mm == nil || dm == nil || mm[1] != dm[1] {
			t.Errorf("%s: Makefile %v, Dockerfile %v: keep them equal", v, mm, dm)
		}
	}
	gm := regexp.MustCompile(`(?m)^go (\S+)$`).FindStringSubmatch(string(gomod))
	dg := regexp.MustCompile(`(?m)^ARG GO_VERSION=(\S+)$`).FindStringSubmatch(d)
	if gm == nil || dg == nil || gm[1] != dg[1] {
		t.Errorf("Go version: go.mod %v, Dockerfile %v: keep them equal", gm, dg)
	}
	// The exported steps run `lair` from PATH in the working directory.
	if !strings.Contains(d, "/usr/local/bin/lair") {
		t.Error("lair is not on the image's PATH")
	}
}
