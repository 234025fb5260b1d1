package batching

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lair-ir/lair/tables"
)

var update = flag.Bool("update", false, "rewrite golden files")

// synth makes groups x langs x langs pairs (every ordered language pair of
// every group), plus `val` validation pairs.
func synth(groups int, langs []string, val int) []tables.Pair {
	var out []tables.Pair
	for g := 0; g < groups; g++ {
		for _, q := range langs {
			for _, p := range langs {
				kind := "cross"
				if q == p {
					kind = "mono"
				}
				out = append(out, tables.Pair{
					PairID: fmt.Sprintf("g%02d-%s-%s", g, q, p), GroupID: fmt.Sprintf("g%02d", g),
					Source: []string{"xquad", "mlqa"}[g%2], Kind: kind,
					QLang: q, QText: fmt.Sprintf("q%d in %s", g, q), PLang: p, PText: fmt.Sprintf("p%d in %s", g, p), Split: "train",
				})
			}
		}
	}
	for i := 0; i < val; i++ {
		out = append(out, tables.Pair{PairID: fmt.Sprintf("v%02d", i), GroupID: fmt.Sprintf("v%02d", i), QLang: "de", PLang: "de", Kind: "mono", Split: "validation"})
	}
	return out
}

func render(p *Plan) string {
	var b strings.Builder
	fmt.Fprintf(&b, "eligible=%d excluded=%d batches=%d\n", len(p.Pairs), p.Excluded, len(p.Batches))
	for _, bt := range p.Batches {
		ids := make([]string, len(bt.Pairs))
		for i, idx := range bt.Pairs {
			ids[i] = p.Pairs[idx].PairID
		}
		fmt.Fprintf(&b, "%d e%d %s %s: %s\n", bt.Index, bt.Epoch, bt.Kind, bt.LangPair, strings.Join(ids, " "))
	}
	return b.String()
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./batching -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the golden file (go test ./batching -update to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestGoldenPlans(t *testing.T) {
	pairs := synth(4, []string{"de", "en", "es"}, 2)
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"mono", Config{Strategy: StrategyMono, BatchSize: 3, Epochs: 2, Seed: 7}},
		{"cross", Config{Strategy: StrategyCross, BatchSize: 3, Epochs: 1, Seed: 7}},
		{"cross_mixed", Config{Strategy: StrategyCross, BatchSize: 3, Epochs: 1, Seed: 7, CrossMode: CrossMixed}},
		{"hybrid", Config{Strategy: StrategyHybrid, Alpha: 0.5, BatchSize: 3, Epochs: 1, Seed: 7}},
		{"hybrid_droplast", Config{Strategy: StrategyHybrid, Alpha: 0.5, BatchSize: 3, Epochs: 1, Seed: 7, DropLast: true}},
		{"proportional", Config{Strategy: StrategyProportional, BatchSize: 4, Epochs: 1, Seed: 7}},
		{"proportional_source", Config{Strategy: StrategyProportional, BatchSize: 4, Epochs: 1, Seed: 7, ProportionalBy: "source"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Build(pairs, tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			var stats strings.Builder
			for _, r := range Stats(p) {
				fmt.Fprintf(&stats, "%d %s %s %d\n", r.Epoch, r.Stat, r.Key, r.Value)
			}
			golden(t, tc.name, render(p)+"--- stats\n"+stats.String())
		})
	}
}

// checkInvariants checks what every plan must satisfy.
func checkInvariants(t *testing.T, p *Plan, input []tables.Pair) {
	t.Helper()
	cfg := p.Config
	usedInEpoch := map[int]map[int]bool{}
	for i, b := range p.Batches {
		if b.Index != i {
			t.Fatalf("batch %d has index %d", i, b.Index)
		}
		if i > 0 && b.Epoch < p.Batches[i-1].Epoch {
			t.Fatalf("batch %d: epochs not in order", i)
		}
		if len(b.Pairs) == 0 || len(b.Pairs) > cfg.BatchSize {
			t.Fatalf("batch %d has %d pairs (batch_size %d)", i, len(b.Pairs), cfg.BatchSize)
		}
		if cfg.DropLast && len(b.Pairs) != cfg.BatchSize {
			t.Fatalf("batch %d has %d pairs with drop_last", i, len(b.Pairs))
		}
		if usedInEpoch[b.Epoch] == nil {
			usedInEpoch[b.Epoch] = map[int]bool{}
		}
		groups := map[string]bool{}
		for _, idx := range b.Pairs {
			pr := p.Pairs[idx]
			if pr.Split != "train" {
				t.Fatalf("batch %d holds %s of split %q", i, pr.PairID, pr.Split)
			}
			if groups[pr.GroupID] {
				t.Fatalf("batch %d holds two pairs of group %s", i, pr.GroupID)
			}
			groups[pr.GroupID] = true
			if usedInEpoch[b.Epoch][idx] {
				t.Fatalf("pair %s twice in epoch %d", pr.PairID, b.Epoch)
			}
			usedInEpoch[b.Epoch][idx] = true
			switch b.Kind {
			case "mono":
				if pr.QLang != pr.PLang || b.LangPair != pr.QLang+"-"+pr.PLang {
					t.Fatalf("mono batch %d (%s) holds %s", i, b.LangPair, pr.PairID)
				}
			case "cross":
				if pr.QLang == pr.PLang {
					t.Fatalf("cross batch %d holds mono pair %s", i, pr.PairID)
				}
				if b.LangPair != "mixed" && b.LangPair != pr.QLang+"-"+pr.PLang {
					t.Fatalf("cross batch %d (%s) holds %s", i, b.LangPair, pr.PairID)
				}
			case "mixed":
				if cfg.Strategy != StrategyProportional {
					t.Fatalf("mixed batch under %s", cfg.Strategy)
				}
			default:
				t.Fatalf("batch %d has kind %q", i, b.Kind)
			}
			switch cfg.Strategy {
			case StrategyMono:
				if b.Kind != "mono" {
					t.Fatalf("strategy mono made a %s batch", b.Kind)
				}
			case StrategyCross:
				if b.Kind != "cross" {
					t.Fatalf("strategy cross made a %s batch", b.Kind)
				}
			}
		}
	}
	train := 0
	for _, pr := range input {
		if pr.Split == "train" {
			train++
		}
	}
	if len(p.Pairs) != train || p.Excluded != len(input)-train {
		t.Fatalf("eligible %d excluded %d, want %d and %d", len(p.Pairs), p.Excluded, train, len(input)-train)
	}
	// Without drop_last, mono/cross/proportional use every pair of their kind each epoch.
	if !cfg.DropLast && cfg.Strategy != StrategyHybrid {
		want := 0
		for _, pr := range p.Pairs {
			k := pairKind(pr)
			if cfg.Strategy == StrategyProportional || string(cfg.Strategy) == k {
				want++
			}
		}
		for e := 0; e < cfg.Epochs; e++ {
			if len(usedInEpoch[e]) != want {
				t.Fatalf("epoch %d used %d pairs, want %d", e, len(usedInEpoch[e]), want)
			}
		}
	}
}

func TestInvariantsEveryStrategy(t *testing.T) {
	inputs := map[string][]tables.Pair{
		"full":   synth(30, []string{"ar", "de", "en", "es", "hi", "th", "zh"}, 5),
		"uneven": uneven(),
	}
	for name, pairs := range inputs {
		for _, s := range Strategies {
			for _, drop := range []bool{false, true} {
				for _, mode := range []string{CrossPerBatch, CrossMixed} {
					for _, by := range []string{"lang", "source"} {
						for seed := int64(1); seed <= 3; seed++ {
							cfg := Config{Strategy: Strategy(s), Alpha: 0.5, BatchSize: 8, Epochs: 2, Seed: seed, DropLast: drop, CrossMode: mode, ProportionalBy: by}
							p, err := Build(pairs, cfg)
							if err != nil {
								t.Fatal(err)
							}
							t.Run(fmt.Sprintf("%s/%s/drop=%v/%s/%s/%d", name, s, drop, mode, by, seed), func(t *testing.T) { checkInvariants(t, p, pairs) })
						}
					}
				}
			}
		}
	}
}

// uneven has languages of very different sizes and groups of varied shape.
func uneven() []tables.Pair {
	var out []tables.Pair
	langs := []string{"de", "en", "es", "vi"}
	n := 0
	for g := 0; g < 40; g++ {
		for qi, q := range langs {
			for pi, p := range langs {
				if (g+qi*3+pi)%(qi+2) == 0 {
					continue
				}
				kind := "cross"
				if q == p {
					kind = "mono"
				}
				split := "train"
				if n%17 == 0 {
					split = "validation"
				}
				out = append(out, tables.Pair{PairID: fmt.Sprintf("u%04d", n), GroupID: fmt.Sprintf("g%d", g%23), Source: langs[g%3],
					Kind: kind, QLang: q, PLang: p, QText: "q", PText: "p", Split: split})
				n++
			}
		}
	}
	return out
}

func TestHybridAlpha(t *testing.T) {
	pairs := synth(200, []string{"de", "en", "es", "hi"}, 0)
	for _, alpha := range []float64{0, 0.3, 1} {
		p, err := Build(pairs, Config{Strategy: StrategyHybrid, Alpha: alpha, BatchSize: 10, Epochs: 3, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		mono := 0
		for _, b := range p.Batches {
			if b.Kind == "mono" {
				mono++
			}
		}
		switch alpha {
		case 0:
			if mono != 0 {
				t.Errorf("alpha 0 made %d mono batches", mono)
			}
		case 1:
			if mono != len(p.Batches) {
				t.Errorf("alpha 1 made %d cross batches", len(p.Batches)-mono)
			}
		default:
			// The epoch ends at the first kind that runs out, so the share of
			// mono batches is about alpha; bound it loosely.
			frac := float64(mono) / float64(len(p.Batches))
			if frac < 0.15 || frac > 0.45 {
				t.Errorf("alpha 0.3 gave mono fraction %.2f over %d batches", frac, len(p.Batches))
			}
		}
	}
}

func TestUniformLanguages(t *testing.T) {
	// Mono batches: each language about equally often although sizes differ
	// (as long as all pools are non-empty the draw is uniform).
	pairs := synth(300, []string{"de", "en", "es"}, 0)
	p, err := Build(pairs, Config{Strategy: StrategyMono, BatchSize: 10, Epochs: 1, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, b := range p.Batches[:60] {
		count[b.LangPair]++
	}
	for l, c := range count {
		if c < 10 || c > 30 {
			t.Errorf("language %s drew %d of the first 60 batches", l, c)
		}
	}
}

func TestEpochsReshuffle(t *testing.T) {
	pairs := synth(10, []string{"de", "en"}, 0)
	p, err := Build(pairs, Config{Strategy: StrategyMono, BatchSize: 5, Epochs: 2, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	var e0, e1 []int
	for _, b := range p.Batches {
		if b.Epoch == 0 {
			e0 = append(e0, b.Pairs...)
		} else {
			e1 = append(e1, b.Pairs...)
		}
	}
	if fmt.Sprint(e0) == fmt.Sprint(e1) {
		t.Error("epoch 1 repeats epoch 0's order")
	}
}

func TestInputOrderDoesNotMatter(t *testing.T) {
	pairs := synth(10, []string{"de", "en", "es"}, 1)
	rev := make([]tables.Pair, len(pairs))
	for i := range pairs {
		rev[len(pairs)-1-i] = pairs[i]
	}
	cfg := Config{Strategy: StrategyHybrid, Alpha: 0.5, BatchSize: 4, Epochs: 2, Seed: 5}
	a, _ := Build(pairs, cfg)
	b, _ := Build(rev, cfg)
	if render(a) != render(b) {
		t.Error("plan depends on the input row order")
	}
}

func TestBadInput(t *testing.T) {
	pairs := synth(2, []string{"de"}, 0)
	dup := append(pairs, pairs[0])
	if _, err := Build(dup, DefaultConfig()); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("duplicate pair_id: err = %v", err)
	}
	for _, cfg := range []Config{{Strategy: "nope", BatchSize: 1, Epochs: 1}, {Strategy: StrategyMono, BatchSize: 0, Epochs: 1},
		{Strategy: StrategyHybrid, Alpha: 2, BatchSize: 1, Epochs: 1}, {Strategy: StrategyMono, BatchSize: 1, Epochs: 0}} {
		if _, err := Build(pairs, cfg); err == nil {
			t.Errorf("config %+v accepted", cfg)
		}
	}
}

func TestArrowRoundTripAndDeterminism(t *testing.T) {
	pairs := synth(12, []string{"de", "en", "es", "th"}, 3)
	pairs[5].NegText = "a hard negative"
	cfg := Config{Strategy: StrategyHybrid, Alpha: 0.5, BatchSize: 7, Epochs: 2, Seed: 11}
	dir := t.TempDir()
	var files [][]byte
	for i := 0; i < 2; i++ {
		p, err := Build(pairs, cfg)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, fmt.Sprintf("b%d.arrow", i))
		if err := WriteArrow(path, p); err != nil {
			t.Fatal(err)
		}
		sdir := filepath.Join(dir, fmt.Sprint(i))
		os.Mkdir(sdir, 0o755)
		if err := WriteStats(sdir, p); err != nil {
			t.Fatal(err)
		}
		data, _ := os.ReadFile(path)
		st, _ := os.ReadFile(filepath.Join(sdir, "stats.parquet"))
		sj, _ := os.ReadFile(filepath.Join(sdir, "stats.json"))
		files = append(files, data, st, sj)
	}
	for i := 0; i < 3; i++ {
		if !bytes.Equal(files[i], files[i+3]) {
			t.Errorf("file %d differs between two runs with the same seed", i)
		}
	}
	p, _ := Build(pairs, cfg)
	f, err := ReadArrow(filepath.Join(dir, "b0.arrow"))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Batches) != len(p.Batches) {
		t.Fatalf("read %d batches, wrote %d", len(f.Batches), len(p.Batches))
	}
	for i, b := range f.Batches {
		w := p.Batches[i]
		if b.Index != w.Index || b.Epoch != w.Epoch || b.Kind != w.Kind || b.LangPair != w.LangPair || len(b.Rows) != len(w.Pairs) {
			t.Fatalf("batch %d: read %+v", i, b)
		}
		for j, pr := range b.Pairs() {
			if pr != p.Pairs[w.Pairs[j]] {
				t.Fatalf("batch %d row %d: read %+v, wrote %+v", i, j, pr, p.Pairs[w.Pairs[j]])
			}
		}
	}
	if f.Meta["lair.strategy"] != "hybrid" || f.Meta["lair.seed"] != "11" {
		t.Errorf("metadata %v", f.Meta)
	}
	rows, err := tables.Read[StatRow](filepath.Join(dir, "0", "stats.parquet"))
	if err != nil || len(rows) != len(Stats(p)) {
		t.Fatalf("stats.parquet: %d rows, err %v", len(rows), err)
	}
	// A different seed changes the plan.
	cfg.Seed = 12
	q, _ := Build(pairs, cfg)
	if render(p) == render(q) {
		t.Error("seed has no effect")
	}
}

func FuzzDecodeArrow(f *testing.F) {
	p, _ := Build(synth(3, []string{"de", "en"}, 0), Config{Strategy: StrategyCross, BatchSize: 2, Epochs: 1, Seed: 1})
	var buf bytes.Buffer
	if err := EncodeArrow(&buf, p); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte("ARROW1"))
	f.Fuzz(func(t *testing.T, data []byte) {
		f, err := DecodeArrow(bytes.NewReader(data))
		if err == nil {
			for _, b := range f.Batches {
				if len(b.Rows) == 0 {
					t.Fatal("decoded an empty batch without error")
				}
			}
		}
	})
}

// TestArtifactWriteRead: Write lays out the batch plan artifact (the names
// are part of existing artifacts) and Read gives back what WriteArrow wrote.
func TestArtifactWriteRead(t *testing.T) {
	p, err := Build(synth(6, []string{"de", "en"}, 2), Config{Strategy: StrategyMono, BatchSize: 4, Epochs: 1, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := Write(dir, p); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"batches.arrow", "stats.parquet", "stats.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("layout: %v", err)
		}
	}
	if Path(dir) != filepath.Join(dir, "batches.arrow") {
		t.Errorf("Path = %s", Path(dir))
	}
	f, err := Read(dir)
	if err != nil || len(f.Batches) != len(p.Batches) {
		t.Fatalf("Read: %v, %d batches of %d", err, len(f.Batches), len(p.Batches))
	}
	if _, err := Read(t.TempDir()); err == nil || !strings.Contains(err.Error(), "batches.arrow") {
		t.Errorf("Read of an empty folder: %v", err)
	}
}

// batches.arrow is written with zstd-compressed buffers (texts compress
// well), and still reads back exactly.
func TestArrowCompressed(t *testing.T) {
	pairs := synth(12, []string{"de", "en"}, 3)
	raw := 0
	for i := range pairs {
		pairs[i].QText = strings.Repeat("what is the question "+pairs[i].QText+" ", 40)
		pairs[i].PText = strings.Repeat("a passage that answers it "+pairs[i].PText+" ", 40)
		raw += len(pairs[i].QText) + len(pairs[i].PText)
	}
	p, err := Build(pairs, Config{Strategy: StrategyMono, BatchSize: 8, Epochs: 2, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := EncodeArrow(&buf, p); err != nil {
		t.Fatal(err)
	}
	if written := 2 * raw; buf.Len() > written/4 {
		t.Errorf("batches.arrow is %d bytes for %d bytes of texts: not compressed", buf.Len(), written)
	}
	f, err := DecodeArrow(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range f.Batches {
		for j, pr := range b.Pairs() {
			if pr != p.Pairs[p.Batches[i].Pairs[j]] {
				t.Fatalf("batch %d row %d differs after the round trip", i, j)
			}
		}
	}
}
