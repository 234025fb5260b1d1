package batching

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/lair-ir/lair/internal/fsutil"
	"github.com/lair-ir/lair/tables"
)

// StatRow is one row of stats.parquet (tidy, long format): in epoch Epoch
// (-1 = the whole plan), statistic Stat for key Key has value Value.
//
// Stats written:
//
//	batches           key = strategy kind (mono | cross | mixed) or "all"
//	batches_lang_pair key = lang_pair of the batch ("de-de", "de-es", "mixed")
//	pairs_lang_pair   key = "q_lang-p_lang" of each pair placed in a batch
//	pairs_q_lang      key = q_lang of each pair placed in a batch
//	pairs_p_lang      key = p_lang of each pair placed in a batch
//	pairs             key = eligible | used | unused | excluded_split
//	                  (used/unused count distinct pairs; excluded_split =
//	                  pairs whose split is not "train", epoch -1 only)
//	batch_size        key = min | max
type StatRow struct {
	Epoch int32  `parquet:"epoch" json:"epoch"`
	Stat  string `parquet:"stat,dict" json:"stat"`
	Key   string `parquet:"key" json:"key"`
	Value int64  `parquet:"value" json:"value"`
}

// Stats computes the statistics of a plan, sorted by (epoch, stat, key).
func Stats(p *Plan) []StatRow {
	type k struct {
		epoch int32
		stat  string
		key   string
	}
	m := map[k]int64{}
	add := func(e int32, stat, key string, v int64) {
		m[k{e, stat, key}] += v
		if e >= 0 && stat != "pairs" && stat != "batch_size" {
			m[k{-1, stat, key}] += v
		}
	}
	usedAll := map[int]bool{}
	usedEpoch := map[int]map[int]bool{}
	sizes := map[int32][2]int64{}
	setSize := func(e int32, n int64) {
		s, ok := sizes[e]
		if !ok {
			s = [2]int64{n, n}
		}
		s[0], s[1] = min(s[0], n), max(s[1], n)
		sizes[e] = s
	}
	for e := 0; e < p.Config.Epochs; e++ {
		usedEpoch[e] = map[int]bool{}
	}
	for _, b := range p.Batches {
		e := int32(b.Epoch)
		add(e, "batches", b.Kind, 1)
		add(e, "batches", "all", 1)
		add(e, "batches_lang_pair", b.LangPair, 1)
		setSize(e, int64(len(b.Pairs)))
		setSize(-1, int64(len(b.Pairs)))
		for _, idx := range b.Pairs {
			pr := p.Pairs[idx]
			add(e, "pairs_lang_pair", pr.QLang+"-"+pr.PLang, 1)
			add(e, "pairs_q_lang", pr.QLang, 1)
			add(e, "pairs_p_lang", pr.PLang, 1)
			usedAll[idx] = true
			usedEpoch[b.Epoch][idx] = true
		}
	}
	n := int64(len(p.Pairs))
	for e := 0; e < p.Config.Epochs; e++ {
		u := int64(len(usedEpoch[e]))
		m[k{int32(e), "pairs", "eligible"}] = n
		m[k{int32(e), "pairs", "used"}] = u
		m[k{int32(e), "pairs", "unused"}] = n - u
	}
	m[k{-1, "pairs", "eligible"}] = n
	m[k{-1, "pairs", "used"}] = int64(len(usedAll))
	m[k{-1, "pairs", "unused"}] = n - int64(len(usedAll))
	m[k{-1, "pairs", "excluded_split"}] = int64(p.Excluded)
	for e, s := range sizes {
		m[k{e, "batch_size", "min"}] = s[0]
		m[k{e, "batch_size", "max"}] = s[1]
	}
	out := make([]StatRow, 0, len(m))
	for key, v := range m {
		out = append(out, StatRow{Epoch: key.epoch, Stat: key.stat, Key: key.key, Value: v})
	}
	sort.Slice(out, func(a, b int) bool {
		x, y := out[a], out[b]
		if x.Epoch != y.Epoch {
			return x.Epoch < y.Epoch
		}
		if x.Stat != y.Stat {
			return x.Stat < y.Stat
		}
		return x.Key < y.Key
	})
	return out
}

// StatsJSON renders stats as JSON: the plan's parameters and, per epoch
// ("all" for the whole plan), a map stat -> key -> value.
func StatsJSON(p *Plan, rows []StatRow) ([]byte, error) {
	per := map[string]map[string]map[string]int64{}
	for _, r := range rows {
		e := "all"
		if r.Epoch >= 0 {
			e = fmt.Sprint(r.Epoch)
		}
		if per[e] == nil {
			per[e] = map[string]map[string]int64{}
		}
		if per[e][r.Stat] == nil {
			per[e][r.Stat] = map[string]int64{}
		}
		per[e][r.Stat][r.Key] = r.Value
	}
	meta := map[string]string{}
	md := p.Config.metadata()
	for i, k := range md.Keys() {
		meta[k] = md.Values()[i]
	}
	return json.MarshalIndent(map[string]any{"params": meta, "epochs": per}, "", "  ")
}

// WriteStats writes stats.parquet and stats.json into dir.
func WriteStats(dir string, p *Plan) error {
	rows := Stats(p)
	if err := tables.Write(dir+"/stats.parquet", rows, nil); err != nil {
		return err
	}
	js, err := StatsJSON(p, rows)
	if err != nil {
		return err
	}
	return fsutil.WriteFile(dir+"/stats.json", append(js, '\n'), 0o644)
}
