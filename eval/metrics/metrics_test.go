package metrics

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
)

var goldenMetrics = []string{"map", "map@20", "r@1", "r@10", "mrr@10", "ndcg@10"}

// TestGolden runs testdata/metrics.txt: datadriven-style cases
// ("eval ranks=... grades=...", "----", expected lines) with hand-computed
// expectations.
func TestGolden(t *testing.T) {
	f, err := os.Open("testdata/metrics.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	line := 0
	var cmd string
	var want []string
	inExpect := false
	flush := func() {
		if cmd == "" {
			return
		}
		got := run(t, cmd)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("testdata/metrics.txt: %s\n got:\n%s\nwant:\n%s", cmd, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		cmd, want, inExpect = "", nil, false
	}
	for sc.Scan() {
		line++
		s := sc.Text()
		switch {
		case strings.HasPrefix(s, "#"):
		case s == "":
			flush()
		case s == "----":
			inExpect = true
		case inExpect:
			want = append(want, s)
		default:
			cmd = s
		}
	}
	flush()
}

func parseInts(s string) []int {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil {
			panic(err)
		}
		out = append(out, n)
	}
	return out
}

func run(t *testing.T, cmd string) []string {
	var j Judged
	for _, arg := range strings.Fields(cmd)[1:] {
		k, v, _ := strings.Cut(arg, "=")
		switch k {
		case "ranks":
			j.Ranks = parseInts(v)
		case "grades":
			for _, g := range parseInts(v) {
				j.Grades = append(j.Grades, int32(g))
			}
		default:
			t.Fatalf("unknown argument %q", arg)
		}
	}
	var out []string
	for _, name := range goldenMetrics {
		s, err := Parse(name)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s %.6f", name, s.Eval(j)))
	}
	if rd, ok := RankDistance(j); ok {
		out = append(out, fmt.Sprintf("rd %g", rd))
	} else {
		out = append(out, "rd -")
	}
	return out
}

// TestProperties checks on random rankings that every metric lies in
// [0,1], RD >= 0, and that the metrics are monotone in the obvious sense.
func TestProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	specs, err := ParseAll([]string{"map", "map@20", "r@1", "r@10", "r@100", "mrr@10", "ndcg@10"})
	if err != nil {
		t.Fatal(err)
	}
	for it := 0; it < 5000; it++ {
		pool := 1 + r.IntN(300)
		nrel := r.IntN(min(pool, 12) + 1)
		perm := r.Perm(pool)
		j := Judged{}
		for i := 0; i < nrel; i++ {
			j.Ranks = append(j.Ranks, perm[i]+1)
			j.Grades = append(j.Grades, int32(1+r.IntN(3)))
		}
		for _, s := range specs {
			v := s.Eval(j)
			if !(v >= 0 && v <= 1) {
				t.Fatalf("%s = %v for %+v", s.Name, v, j)
			}
		}
		if rd, ok := RankDistance(j); ok && (rd < 0 || rd > float64(pool-1)) {
			t.Fatalf("rd = %v for pool %d", rd, pool)
		}
		if AP(j) < APAt(j, 20)-1e-12 && nrel <= 20 {
			t.Fatalf("AP %v < AP@20 %v with R<=20", AP(j), APAt(j, 20))
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, bad := range []string{"", "map@", "map@0", "foo@3", "r", "ndcg@x"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}
