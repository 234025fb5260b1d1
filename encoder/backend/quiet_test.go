package backend

import (
	"io"
	"os"
	"strings"
	"testing"
)

// TestOpenCPUPrintsNothing: opening the pure-Go backend with a parallelism
// writes nothing to standard output (the backend itself prints "Go
// backend: parallelism set to N", which ended up in lair's stage list) and
// still applies the parallelism.
func TestOpenCPUPrintsNothing(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	b, err := Open(Choice{Device: CPU, Config: "go:parallelism=3"})
	os.Stdout = stdout
	w.Close()
	out, _ := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Finalize()
	if len(out) != 0 {
		t.Errorf("Open printed %q on standard output", out)
	}
	if d := b.Description(); !strings.Contains(d, "parallelism=3") {
		t.Errorf("backend %q: parallelism not applied", d)
	}
	// Options other than parallelism still reach the backend, and bad
	// values get the backend's own error.
	if _, err := Open(Choice{Device: CPU, Config: "go:parallelism=x"}); err == nil {
		t.Error("parallelism=x: no error")
	}
	if _, err := Open(Choice{Device: CPU, Config: "go:nosuchoption,parallelism=2"}); err == nil || !strings.Contains(err.Error(), "nosuchoption") {
		t.Errorf("unknown option: %v", err)
	}
}

// TestResolveConfig: the configuration a caller passes (a stage's
// Env.Backend) comes before $GOMLX_BACKEND.
func TestResolveConfig(t *testing.T) {
	s := System{Getenv: func(k string) string {
		if k == EnvGoMLX {
			return "go:parallelism=5"
		}
		return ""
	}}
	for cfg, want := range map[string]string{"": "go:parallelism=5", "go:parallelism=7": "go:parallelism=7"} {
		c, err := s.Resolve(Options{Device: CPU, Config: cfg})
		if err != nil || c.Config != want {
			t.Errorf("Resolve(Config %q) = %+v, %v; want %s", cfg, c, err, want)
		}
	}
}

// TestUnknownBackendIsAnError: GoMLX panics on an unknown backend name;
// lair reports it as an error that says what to set.
func TestUnknownBackendIsAnError(t *testing.T) {
	b, err := newQuiet("nosuch:x=1")
	if err == nil || b != nil || !strings.Contains(err.Error(), `"nosuch"`) || !strings.Contains(err.Error(), "$GOMLX_BACKEND") {
		t.Errorf("newQuiet(nosuch:x=1) = %v, %v", b, err)
	}
}
