package reports

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lair-ir/lair/internal/testenv"
)

// browseResult is what testdata/browse.js reports about a page opened in
// headless Chromium.
type browseResult struct {
	Console  []string `json:"console"`  // console errors
	Requests []string `json:"requests"` // network requests the page made
	HTML     string   `json:"html"`     // the rendered DOM
	Cells    int      `json:"cells"`    // table cells rendered
}

// browse opens page in headless Chromium (through playwright-core) and
// returns what it saw and the path of a full-page screenshot; a
// screenshot of the top of the page (1280 x 800) is beside it, at
// topShot(shot).
func browse(t *testing.T, page string) (browseResult, string) {
	t.Helper()
	chromium := testenv.Chromium(t)
	nm, node := testenv.NodeModules(t)
	shot := filepath.Join(t.TempDir(), strings.TrimSuffix(filepath.Base(page), ".html")+".png")
	script, _ := filepath.Abs("testdata/browse.js")
	cmd := exec.Command(node, script, chromium, page, shot, t.TempDir(), topShot(shot))
	cmd.Env = append(os.Environ(), "NODE_PATH="+nm)
	done := make(chan struct{})
	var res []byte
	var err error
	go func() { res, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(90 * time.Second):
		cmd.Process.Kill()
		t.Fatal("chromium did not finish in 90 s")
	}
	if err != nil {
		t.Fatalf("browse.js: %v\n%s", err, res)
	}
	var r browseResult
	lines := strings.Split(strings.TrimSpace(string(res)), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &r); err != nil {
		t.Fatalf("browse.js output: %v\n%s", err, res)
	}
	return r, shot
}

// topShot is the path of the screenshot of the top of the page that
// browse saves beside the full-page one.
func topShot(shot string) string { return strings.TrimSuffix(shot, ".png") + "-top.png" }
