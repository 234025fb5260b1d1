package significance

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestHolm(t *testing.T) {
	got := Holm([]float64{0.01, 0.04, 0.03, 0.5})
	want := []float64{0.04, 0.09, 0.09, 0.5} // 4*.01, max(3*.03, ...)=.09, 2*.04=.08->.09, .5
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-12 {
			t.Fatalf("Holm = %v want %v", got, want)
		}
	}
}

func TestRandomization(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	n := 200
	a, b, c := make([]float64, n), make([]float64, n), make([]float64, n)
	for i := range a {
		b[i] = r.Float64()
		a[i] = b[i] + 0.1 + 0.05*r.NormFloat64() // clearly better
		c[i] = b[i] + 0.05*r.NormFloat64()       // no difference
	}
	if p := Randomization(a, b, 2000, 7); p > 0.001 {
		t.Errorf("clear difference: p = %v", p)
	}
	if p := Randomization(c, b, 2000, 7); p < 0.01 {
		t.Errorf("no difference: p = %v", p)
	}
	if Randomization(a, b, 500, 3) != Randomization(a, b, 500, 3) {
		t.Error("not deterministic for a seed")
	}
	if p := Randomization(b, b, 100, 1); p != 1 {
		t.Errorf("identical runs: p = %v, want 1", p)
	}
	lo, hi := Bootstrap(a, b, 1000, 0.95, 1)
	if !(lo > 0.08 && hi < 0.12 && lo < hi) {
		t.Errorf("bootstrap CI [%v, %v] should hold 0.1", lo, hi)
	}
	w, ti, l := WinTieLoss([]float64{1, 0.5, 0}, []float64{0, 0.5, 1}, 1e-9)
	if w != 1 || ti != 1 || l != 1 {
		t.Errorf("w/t/l = %d/%d/%d", w, ti, l)
	}
}

// A group whose values are all equal has no spread: the interval of the
// macro mean of constant groups is the point itself; with spread it
// contains the macro mean and narrows as groups grow.
func TestBootstrapMacroMean(t *testing.T) {
	lo, hi := BootstrapMacroMean(map[string][]float64{"de": {2, 2, 2}, "en": {4, 4}}, 200, 0.95, 1)
	if lo != 3 || hi != 3 {
		t.Errorf("constant groups: [%v, %v], want [3, 3]", lo, hi)
	}
	small := map[string][]float64{"de": {0, 1, 0, 1}, "en": {1, 1, 0, 0}}
	big := map[string][]float64{}
	for g, v := range small {
		for range 50 {
			big[g] = append(big[g], v...)
		}
	}
	l1, h1 := BootstrapMacroMean(small, 2000, 0.95, 7)
	l2, h2 := BootstrapMacroMean(big, 2000, 0.95, 7)
	if !(l1 <= 0.5 && 0.5 <= h1 && l2 <= 0.5 && 0.5 <= h2) || !(h2-l2 < h1-l1) {
		t.Errorf("intervals [%v,%v] (n=4 per group) and [%v,%v] (n=200): want both around 0.5, the second narrower", l1, h1, l2, h2)
	}
	if lo, hi := BootstrapMacroMean(nil, 10, 0.95, 1); !math.IsNaN(lo) || !math.IsNaN(hi) {
		t.Errorf("no data: [%v,%v], want NaN", lo, hi)
	}
}
