package stats

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/lair-ir/lair/tables"
)

// LanguageGroup names a set of query languages (e.g. the languages unseen
// in training) whose macro average is reported separately, beside the
// macro average over the dataset's other query languages.
type LanguageGroup struct {
	Name  string
	Langs []string
}

// ParseLanguageGroup parses "name=l1,l2,..." (e.g. "unseen=el,ru,th,tr").
func ParseLanguageGroup(s string) (LanguageGroup, error) {
	name, list, ok := strings.Cut(s, "=")
	name = strings.TrimSpace(name)
	if !ok || name == "" || strings.ContainsAny(name, ",=") {
		return LanguageGroup{}, fmt.Errorf("language group %q: want NAME=LANG,LANG,... (e.g. unseen=el,ru,th,tr)", s)
	}
	g := LanguageGroup{Name: name}
	for _, l := range strings.Split(list, ",") {
		l = strings.TrimSpace(l)
		if l == "" || l == "all" || strings.ContainsAny(l, "= ") {
			return LanguageGroup{}, fmt.Errorf("language group %q: bad language %q (want language codes separated by commas)", s, l)
		}
		if !slices.Contains(g.Langs, l) {
			g.Langs = append(g.Langs, l)
		}
	}
	return g, nil
}

// ComplementName labels the query languages outside the group: seen for a
// group named unseen, else "not NAME".
func (g LanguageGroup) ComplementName() string {
	if g.Name == "unseen" {
		return "seen"
	}
	return "not " + g.Name
}

// GroupRow is one row of language_groups.parquet: the macro average of a
// run's per-query-language metric over a set of query languages.
type GroupRow struct {
	RunID   string   `parquet:"run_id,dict"`
	Dataset string   `parquet:"dataset,dict"`
	Group   string   `parquet:"group,dict"` // the group's name, or its complement's (ComplementName)
	Langs   []string `parquet:"langs,list"` // the query languages averaged, sorted
	Setting string   `parquet:"setting,dict"`
	Metric  string   `parquet:"metric,dict"`
	Value   float64  `parquet:"value"`
}

// GroupAverages returns, for every group and every run and dataset where
// some of the group's query languages occur, the macro averages over the
// group's query languages and over the dataset's other query languages
// (the complement first), of every (setting, metric) the run has per
// query language: the row (X, all) in cross and multi, (X, X) in mono. A
// row is present only when every language of the set has the metric.
// Rows come ordered by group, dataset, run, set, setting and metric.
func GroupAverages(ms []tables.Metric, groups []LanguageGroup) []GroupRow {
	type rd struct{ run, ds string }
	type sm struct{ setting, metric string }
	type lk struct {
		rd
		sm
		lang string
	}
	val := map[lk]float64{}
	langs := map[rd][]string{}
	metrics := map[rd][]sm{}
	var pairs []rd
	for _, m := range ms {
		p := rd{m.RunID, m.Dataset}
		if !slices.Contains(pairs, p) {
			pairs = append(pairs, p)
		}
		if m.QLang == "all" {
			continue
		}
		if !slices.Contains(langs[p], m.QLang) {
			langs[p] = append(langs[p], m.QLang)
		}
		if m.CLang != "all" && m.CLang != m.QLang {
			continue
		}
		k := lk{p, sm{m.Setting, m.Metric}, m.QLang}
		if _, seen := val[k]; seen && m.CLang != "all" {
			continue // (X, all) wins over (X, X)
		}
		val[k] = m.Value
		if !slices.Contains(metrics[p], k.sm) {
			metrics[p] = append(metrics[p], k.sm)
		}
	}
	slices.SortFunc(pairs, func(a, b rd) int {
		return cmp.Or(strings.Compare(a.ds, b.ds), strings.Compare(a.run, b.run))
	})
	var out []GroupRow
	for _, g := range groups {
		for _, p := range pairs {
			ls := slices.Sorted(slices.Values(langs[p]))
			var in, rest []string
			for _, l := range ls {
				if slices.Contains(g.Langs, l) {
					in = append(in, l)
				} else {
					rest = append(rest, l)
				}
			}
			if len(in) == 0 {
				continue
			}
			sms := slices.SortedFunc(slices.Values(metrics[p]), func(a, b sm) int {
				return cmp.Or(strings.Compare(a.setting, b.setting), strings.Compare(a.metric, b.metric))
			})
			for _, set := range []struct {
				name  string
				langs []string
			}{{g.ComplementName(), rest}, {g.Name, in}} {
				if len(set.langs) == 0 {
					continue
				}
				for _, c := range sms {
					sum, ok := 0.0, true
					for _, l := range set.langs {
						v, has := val[lk{p, c, l}]
						if !has {
							ok = false
							break
						}
						sum += v
					}
					if ok {
						out = append(out, GroupRow{RunID: p.run, Dataset: p.ds, Group: set.name, Langs: set.langs,
							Setting: c.setting, Metric: c.metric, Value: sum / float64(len(set.langs))})
					}
				}
			}
		}
	}
	return out
}
