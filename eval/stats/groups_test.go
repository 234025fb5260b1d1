package stats

import (
	"fmt"
	"strings"
	"testing"

	"github.com/lair-ir/lair/tables"
)

func TestParseLanguageGroup(t *testing.T) {
	for _, bad := range []string{"", "unseen", "=el", "unseen=", "unseen=el,,ru", "a,b=el", "x=all"} {
		if _, err := ParseLanguageGroup(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	g, err := ParseLanguageGroup(" new = el,ru,el ")
	if err != nil || g.Name != "new" || strings.Join(g.Langs, " ") != "el ru" || g.ComplementName() != "not new" {
		t.Errorf("%+v %v", g, err)
	}
}

func FuzzParseLanguageGroup(f *testing.F) {
	for _, s := range []string{"unseen=el,ru,th,tr", "a=b", "=", "x=,", "u=el ru"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		g, err := ParseLanguageGroup(s)
		if err != nil {
			return
		}
		if g.Name == "" || len(g.Langs) == 0 {
			t.Fatalf("%q: accepted %+v", s, g)
		}
		for _, l := range g.Langs {
			if l == "" || l == "all" || strings.ContainsAny(l, ",= ") {
				t.Fatalf("%q: language %q", s, l)
			}
		}
	})
}

func TestGroupAverages(t *testing.T) {
	m := func(run, ds, setting, metric, q, c string, v float64) tables.Metric {
		return tables.Metric{RunID: run, Dataset: ds, Setting: setting, Metric: metric, QLang: q, CLang: c, Value: v}
	}
	ms := []tables.Metric{
		// run a on xq: query languages de, en, th
		m("a", "xq", "multi", "map", "de", "all", 0.5), m("a", "xq", "multi", "map", "en", "all", 0.7), m("a", "xq", "multi", "map", "th", "all", 0.2),
		m("a", "xq", "multi", "map", "all", "all", 99), // the all-language row is not averaged again
		m("a", "xq", "mono", "map", "de", "de", 0.9), m("a", "xq", "mono", "map", "en", "en", 0.8), m("a", "xq", "mono", "map", "th", "th", 0.4),
		m("a", "xq", "cross", "map", "de", "en", 7),                                                    // a language pair row: not per query language
		m("a", "xq", "cross", "map", "de", "all", 0.3), m("a", "xq", "cross", "map", "en", "all", 0.1), // th lacks cross: no unseen cross row
		// ml has no th: no rows
		m("a", "ml", "multi", "map", "de", "all", 0.6), m("a", "ml", "multi", "map", "en", "all", 0.6),
	}
	got := GroupAverages(ms, []LanguageGroup{{Name: "unseen", Langs: []string{"th", "zz"}}})
	var lines []string
	for _, r := range got {
		lines = append(lines, fmt.Sprintf("%s %s %s [%s] %s %s %.4f", r.RunID, r.Dataset, r.Group, strings.Join(r.Langs, " "), r.Setting, r.Metric, r.Value))
	}
	want := []string{
		"a xq seen [de en] cross map 0.2000",
		"a xq seen [de en] mono map 0.8500",
		"a xq seen [de en] multi map 0.6000",
		"a xq unseen [th] mono map 0.4000",
		"a xq unseen [th] multi map 0.2000",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("GroupAverages:\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	if got := GroupAverages(ms, nil); len(got) != 0 {
		t.Errorf("no groups gave %d rows", len(got))
	}
	g := LanguageGroup{Name: "new", Langs: []string{"de"}}
	if got := GroupAverages(ms, []LanguageGroup{g}); len(got) == 0 || got[0].Group != "not new" || got[len(got)-1].Group != "new" {
		t.Errorf("complement first, then the group: %+v", got)
	}
}
