package modelgen_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/lair-ir/lair/encoder/modelgen"
	"github.com/lair-ir/lair/encoder/tokenizer"
	"github.com/lair-ir/lair/internal/testenv"
)

var tokTexts = []string{
	"Hello world, das ist ein Test 日本 Xin chào",
	"Was ist das? Das ist gut. ¿Qué es?",
	"Ελληνικά и русский текст, हिन्दी, ภาษาไทย",
	"",
}

// TestTokenizerJSONIsHuggingFace checks the generated tokenizer.json with
// Hugging Face's own tokenizers (Rust, through npm @anush008/tokenizers) and
// lair's tokenizer package: both must give the same ids.
func TestTokenizerJSONIsHuggingFace(t *testing.T) {
	nm, node := testenv.NodeModules(t)
	for _, arch := range []string{modelgen.ArchBERT, modelgen.ArchXLMR} {
		for _, corpus := range [][]string{nil, {"Hello world, hello there!", "Was ist das? Das ist gut.", "ist ist", "日本語のテキスト"}} {
			dir := t.TempDir()
			if err := modelgen.Generate(dir, modelgen.Config{Arch: arch, Layers: 1, Hidden: 8, Heads: 1, Corpus: corpus}); err != nil {
				t.Fatal(err)
			}
			script := filepath.Join(dir, "t.js")
			js := `const { Tokenizer } = require(process.argv[2] + '/@anush008/tokenizers');
(async () => {
  const t = Tokenizer.fromFile(process.argv[3]);
  const out = [];
  for (const s of JSON.parse(process.argv[4])) out.push((await t.encode(s)).getIds());
  console.log(JSON.stringify(out));
})().catch(e => { console.error(e); process.exit(1); });`
			if err := os.WriteFile(script, []byte(js), 0o644); err != nil {
				t.Fatal(err)
			}
			texts, _ := json.Marshal(tokTexts)
			out, err := exec.Command(node, script, nm, filepath.Join(dir, "tokenizer.json"), string(texts)).CombinedOutput()
			if err != nil {
				t.Fatalf("node: %v\n%s", err, out)
			}
			var want [][]int64
			if err := json.Unmarshal(out, &want); err != nil {
				t.Fatalf("node output %q: %v", out, err)
			}
			tk, err := tokenizer.FromFile(filepath.Join(dir, "tokenizer.json"))
			if err != nil {
				t.Fatal(err)
			}
			for i, s := range tokTexts {
				e, err := tk.Encode(s, true)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(e.IDs, want[i]) {
					t.Errorf("%s corpus=%v %q: lair %v, Hugging Face %v", arch, corpus != nil, s, e.IDs, want[i])
				}
			}
		}
	}
}
