package batching

import (
	"fmt"
	"math/rand/v2"
	"sort"

	"github.com/lair-ir/lair/tables"
)

// Strategy is a batch sampling strategy.
//
//   - StrategyMono (X-X): every batch holds monolingual pairs of one language;
//     the language is drawn uniformly over the languages whose pool can still
//     fill a batch. Cross-lingual pairs are not used.
//   - StrategyCross (X-Y): every pair has q_lang != p_lang. With
//     CrossMode=CrossPerBatch (default) one ordered language pair (X, Y) is
//     drawn uniformly per batch and the whole batch comes from it, so all
//     in-batch negatives share the positive's language (mirroring X-X). With
//     CrossMode=CrossMixed every slot of the batch draws its ordered pair
//     uniformly over the non-empty pools.
//   - StrategyHybrid: each batch is X-X with probability Alpha, else X-Y.
//     The draw is strict: when the drawn kind can no longer fill a batch the
//     epoch ends (the remaining pairs are reported as unused) rather than
//     silently changing the mix.
//   - StrategyProportional: every pool (each language and each ordered
//     language pair, or each source with ProportionalBy="source") is drawn
//     with probability proportional to the pairs it still holds, i.e. in
//     proportion to its size; all train pairs are used.
type Strategy string

// The strategies.
const (
	StrategyMono         Strategy = "mono"
	StrategyCross        Strategy = "cross"
	StrategyHybrid       Strategy = "hybrid"
	StrategyProportional Strategy = "proportional"
)

// Strategies lists every strategy, for parameter validation.
var Strategies = []string{string(StrategyMono), string(StrategyCross), string(StrategyHybrid), string(StrategyProportional)}

// Cross-lingual batch filling modes.
const (
	CrossPerBatch = "per-batch"
	CrossMixed    = "mixed"
)

// Config are the parameters of a plan.
type Config struct {
	Strategy       Strategy
	Alpha          float64 // hybrid: probability that a batch is monolingual
	BatchSize      int
	Epochs         int
	Seed           int64
	DropLast       bool   // never emit a batch smaller than BatchSize
	CrossMode      string // CrossPerBatch (default) or CrossMixed
	ProportionalBy string // "lang" (default) or "source"
}

// DefaultConfig returns the defaults of the batches/plan stage.
func DefaultConfig() Config {
	return Config{Strategy: StrategyHybrid, Alpha: 0.5, BatchSize: 100, Epochs: 1, Seed: 1, CrossMode: CrossPerBatch, ProportionalBy: "lang"}
}

func (c *Config) normalize() error {
	if c.CrossMode == "" {
		c.CrossMode = CrossPerBatch
	}
	if c.ProportionalBy == "" {
		c.ProportionalBy = "lang"
	}
	switch c.Strategy {
	case StrategyMono, StrategyCross, StrategyHybrid, StrategyProportional:
	default:
		return fmt.Errorf("batching: unknown strategy %q (want one of %v)", c.Strategy, Strategies)
	}
	if c.BatchSize < 1 {
		return fmt.Errorf("batching: batch_size must be >= 1, have %d", c.BatchSize)
	}
	if c.Epochs < 1 {
		return fmt.Errorf("batching: epochs must be >= 1, have %d", c.Epochs)
	}
	if c.Alpha < 0 || c.Alpha > 1 {
		return fmt.Errorf("batching: alpha must be in [0, 1], have %g", c.Alpha)
	}
	if c.CrossMode != CrossPerBatch && c.CrossMode != CrossMixed {
		return fmt.Errorf("batching: cross_mode must be %q or %q, have %q", CrossPerBatch, CrossMixed, c.CrossMode)
	}
	if c.ProportionalBy != "lang" && c.ProportionalBy != "source" {
		return fmt.Errorf("batching: proportional_by must be \"lang\" or \"source\", have %q", c.ProportionalBy)
	}
	return nil
}

// Batch is one training batch of a plan.
type Batch struct {
	Index    int    // position in the plan, from 0
	Epoch    int    // from 0
	Kind     string // "mono", "cross" or "mixed" (proportional by source)
	LangPair string // "de-de", "de-es", or "mixed"
	Pairs    []int  // indices into Plan.Pairs
}

// Plan is a complete batch plan.
type Plan struct {
	Config  Config
	Pairs   []tables.Pair // the eligible (train) pairs, sorted by pair_id
	Batches []Batch
	// Excluded counts input pairs left out because their split is not "train".
	Excluded int
}

type pool struct {
	key   string
	kind  string // mono | cross | mixed
	items []int  // remaining pair indices, in draw order
	dead  bool   // cannot fill a batch any more in this epoch
}

func pairKind(p tables.Pair) string {
	if p.QLang == p.PLang {
		return "mono"
	}
	return "cross"
}

// Build makes the batch plan of pairs under cfg.
func Build(pairs []tables.Pair, cfg Config) (*Plan, error) {
	if err := cfg.normalize(); err != nil {
		return nil, err
	}
	plan := &Plan{Config: cfg}
	seen := map[string]int{}
	for i, p := range pairs {
		if p.Split != "train" {
			plan.Excluded++
			continue
		}
		if p.PairID == "" {
			return nil, fmt.Errorf("batching: pair at row %d has an empty pair_id", i)
		}
		if p.QLang == "" || p.PLang == "" {
			return nil, fmt.Errorf("batching: pair %q (row %d) has an empty q_lang or p_lang", p.PairID, i)
		}
		if j, dup := seen[p.PairID]; dup {
			return nil, fmt.Errorf("batching: pair_id %q appears twice (rows %d and %d)", p.PairID, j, i)
		}
		seen[p.PairID] = i
		plan.Pairs = append(plan.Pairs, p)
	}
	sort.Slice(plan.Pairs, func(a, b int) bool { return plan.Pairs[a].PairID < plan.Pairs[b].PairID })
	for e := 0; e < cfg.Epochs; e++ {
		plan.epoch(e)
	}
	return plan, nil
}

// pools groups the eligible pairs for the strategy, with keys sorted so the
// order is deterministic.
func (p *Plan) pools() (mono, cross []*pool) {
	byKey := map[string]*pool{}
	var keys []string
	for i, pr := range p.Pairs {
		kind := pairKind(pr)
		var key string
		switch {
		case p.Config.Strategy == StrategyMono && kind != "mono",
			p.Config.Strategy == StrategyCross && kind != "cross":
			continue
		case p.Config.Strategy == StrategyProportional && p.Config.ProportionalBy == "source":
			key, kind = "source:"+pr.Source, "mixed"
		default:
			key = pr.QLang + "-" + pr.PLang
		}
		pl := byKey[key]
		if pl == nil {
			pl = &pool{key: key, kind: kind}
			byKey[key] = pl
			keys = append(keys, key)
		}
		pl.items = append(pl.items, i)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if byKey[k].kind == "cross" {
			cross = append(cross, byKey[k])
		} else {
			mono = append(mono, byKey[k])
		}
	}
	return mono, cross
}

func (p *Plan) epoch(e int) {
	cfg := p.Config
	rng := rand.New(rand.NewPCG(uint64(cfg.Seed)+uint64(e), 0x6c616972)) // "lair"
	mono, cross := p.pools()
	for _, pl := range append(append([]*pool{}, mono...), cross...) {
		rng.Shuffle(len(pl.items), func(a, b int) { pl.items[a], pl.items[b] = pl.items[b], pl.items[a] })
	}
	all := append(append([]*pool{}, mono...), cross...)
	for {
		var b *Batch
		switch cfg.Strategy {
		case StrategyMono:
			b = p.fillOne(rng, mono, false)
		case StrategyCross:
			b = p.fillCross(rng, cross)
		case StrategyHybrid:
			if rng.Float64() < cfg.Alpha {
				b = p.fillOne(rng, mono, false)
			} else {
				b = p.fillCross(rng, cross)
			}
		case StrategyProportional:
			b = p.fillOne(rng, all, true)
		}
		if b == nil {
			return
		}
		b.Index, b.Epoch = len(p.Batches), e
		p.Batches = append(p.Batches, *b)
	}
}

func (p *Plan) fillCross(rng *rand.Rand, cross []*pool) *Batch {
	if p.Config.CrossMode == CrossMixed {
		return p.fillMixed(rng, cross)
	}
	return p.fillOne(rng, cross, false)
}

// live returns the pools that may still fill a batch.
func (p *Plan) live(pools []*pool) []*pool {
	var out []*pool
	for _, pl := range pools {
		if pl.dead || len(pl.items) == 0 || (p.Config.DropLast && len(pl.items) < p.Config.BatchSize) {
			continue
		}
		out = append(out, pl)
	}
	return out
}

// fillOne draws one pool (uniformly, or weighted by size) and fills a whole
// batch from it. It returns nil when no pool can fill a batch.
func (p *Plan) fillOne(rng *rand.Rand, pools []*pool, weighted bool) *Batch {
	for {
		live := p.live(pools)
		if len(live) == 0 {
			return nil
		}
		var pl *pool
		if weighted {
			total := 0
			for _, l := range live {
				total += len(l.items)
			}
			r := rng.IntN(total)
			for _, l := range live {
				if r < len(l.items) {
					pl = l
					break
				}
				r -= len(l.items)
			}
		} else {
			pl = live[rng.IntN(len(live))]
		}
		groups := map[string]bool{}
		var taken, rest []int
		for _, idx := range pl.items {
			g := p.Pairs[idx].GroupID
			if len(taken) < p.Config.BatchSize && !groups[g] {
				groups[g] = true
				taken = append(taken, idx)
			} else {
				rest = append(rest, idx)
			}
		}
		if p.Config.DropLast && len(taken) < p.Config.BatchSize {
			// Group conflicts leave too few pairs: this pool is done for the epoch.
			pl.dead = true
			continue
		}
		pl.items = rest
		lp := pl.key
		if pl.kind == "mixed" {
			lp = "mixed"
		}
		return &Batch{Kind: pl.kind, LangPair: lp, Pairs: taken}
	}
}

// fillMixed fills a cross-lingual batch slot by slot, each slot drawing its
// ordered language pair uniformly over the pools that can still serve it.
func (p *Plan) fillMixed(rng *rand.Rand, pools []*pool) *Batch {
	remaining := 0
	var nonEmpty []*pool
	for _, pl := range pools {
		if len(pl.items) > 0 {
			remaining += len(pl.items)
			nonEmpty = append(nonEmpty, pl)
		}
	}
	if remaining == 0 || (p.Config.DropLast && remaining < p.Config.BatchSize) {
		return nil
	}
	groups := map[string]bool{}
	var taken []int
	blocked := map[*pool]bool{}
	for len(taken) < p.Config.BatchSize {
		var cand []*pool
		for _, pl := range nonEmpty {
			if len(pl.items) > 0 && !blocked[pl] {
				cand = append(cand, pl)
			}
		}
		if len(cand) == 0 {
			break
		}
		pl := cand[rng.IntN(len(cand))]
		found := -1
		for j, idx := range pl.items {
			if !groups[p.Pairs[idx].GroupID] {
				found = j
				break
			}
		}
		if found < 0 {
			blocked[pl] = true
			continue
		}
		idx := pl.items[found]
		pl.items = append(pl.items[:found:found], pl.items[found+1:]...)
		groups[p.Pairs[idx].GroupID] = true
		taken = append(taken, idx)
	}
	if p.Config.DropLast && len(taken) < p.Config.BatchSize {
		// Put the pairs back: they stay unused in this epoch.
		return nil
	}
	if len(taken) == 0 {
		return nil
	}
	return &Batch{Kind: "cross", LangPair: "mixed", Pairs: taken}
}
