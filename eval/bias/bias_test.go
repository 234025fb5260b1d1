package bias

import (
	"math"
	"testing"
)

func near(t *testing.T, name string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-9 {
		t.Errorf("%s = %.12g, want %.12g", name, got, want)
	}
}

// Chi-square tails: df 1 is erfc(sqrt(x/2)), df 2 is exp(-x/2); the 5%
// critical values of df 1 and 10 are 3.841459 and 18.307038.
func TestChiSquareSF(t *testing.T) {
	for _, x := range []float64{0.1, 1, 2.4, 7, 30} {
		near(t, "df1", ChiSquareSF(x, 1), math.Erfc(math.Sqrt(x/2)))
		near(t, "df2", ChiSquareSF(x, 2), math.Exp(-x/2))
	}
	if p := ChiSquareSF(3.841459, 1); math.Abs(p-0.05) > 1e-6 {
		t.Errorf("sf(3.841459, 1) = %v, want 0.05", p)
	}
	if p := ChiSquareSF(18.307038, 10); math.Abs(p-0.05) > 1e-6 {
		t.Errorf("sf(18.307038, 10) = %v, want 0.05", p)
	}
	near(t, "x=0", ChiSquareSF(0, 3), 1)
}

// By hand: ranks {1,2} vs {3,4}: mean 2.5, SSG = 2·1 + 2·1 = 4, SSA = 5,
// H = 3·4/5 = 2.4. Three singletons {1},{2},{3}: H = 2·2/2 = 2, p = e^-1.
func TestKruskalWallis(t *testing.T) {
	h, p := KruskalWallis([][]float64{{1, 2}, {3, 4}})
	near(t, "H", h, 2.4)
	near(t, "p", p, math.Erfc(math.Sqrt(1.2)))
	h, p = KruskalWallis([][]float64{{1}, {}, {2}, {3}})
	near(t, "H", h, 2)
	near(t, "p", p, math.Exp(-1))
	if h, p := KruskalWallis([][]float64{{1, 5}, {}}); !math.IsNaN(h) || p != 1 {
		t.Errorf("one group: H %v p %v, want NaN and 1", h, p)
	}
	if h, p := KruskalWallis([][]float64{{7, 7}, {7}}); h != 0 || p != 1 {
		t.Errorf("all tied: H %v p %v, want 0 and 1", h, p)
	}
}

// By hand, PEER@4 of top [en0 en0 de0 de1] with en1 unretrieved:
// grade 0: en {1,2}, de {3}: H = 2·1.5/2 = 1.5, p0 = erfc(sqrt(.75));
// grade 1: de {4}, en {4+(1+1)/2 = 5}: H = 1, p1 = erfc(sqrt(.5)).
func TestPEERHandComputed(t *testing.T) {
	top := []Doc{{"en", 0}, {"en", 0}, {"de", 0}, {"de", 1}, {"zh", 0}}
	unret := []Doc{{"en", 1}}
	p0, p1 := math.Erfc(math.Sqrt(0.75)), math.Erfc(math.Sqrt(0.5))
	near(t, "PEER default", PEER(top, unret, 4, DefaultPEERWeights), 0.5*p0+0.5*p1)
	near(t, "PEER grade 1", PEER(top, unret, 4, map[int32]float64{1: 1}), p1)
	// two unretrieved of grade 1 share the mean of positions 5 and 6
	unret2 := []Doc{{"en", 1}, {"zh", 1}}
	_, want := KruskalWallis([][]float64{{4}, {5.5}, {5.5}})
	near(t, "PEER two unretrieved", PEER(top, unret2, 4, map[int32]float64{1: 1}), want)
}

// A single-language pool and a ranking with only one language per grade
// are fair by definition (score 1); ties between all ranks too.
func TestPEERSingleLanguage(t *testing.T) {
	top := []Doc{{"en", 1}, {"en", 0}, {"en", 0}}
	near(t, "one language", PEER(top, []Doc{{"en", 1}}, 10, DefaultPEERWeights), 1)
	near(t, "empty", PEER(nil, nil, 10, DefaultPEERWeights), 1)
}

func TestPreference(t *testing.T) {
	top := []string{"en", "de", "en", "zh"}
	near(t, "k4", Preference(top, "en", 4, 0.25), 2)
	near(t, "k2", Preference(top, "en", 2, 0.25), 2)
	near(t, "k1 no en", Preference(top, "de", 1, 0.5), 0)
	near(t, "k beyond list", Preference(top, "zh", 100, 0.25), 1)
	if v := Preference(top, "th", 4, 0); !math.IsNaN(v) {
		t.Errorf("language absent from the pool: %v, want NaN", v)
	}
	near(t, "normalised rd", NormalizedRD(650, 13014), 650.0/13014)
}

func TestCheckWeights(t *testing.T) {
	if err := CheckWeights(DefaultPEERWeights); err != nil {
		t.Error(err)
	}
	if err := CheckWeights(map[int32]float64{0: 0.5, 1: 0.6}); err == nil {
		t.Error("weights summing to 1.1 accepted")
	}
	if err := CheckWeights(map[int32]float64{0: -0.5, 1: 1.5}); err == nil {
		t.Error("negative weight accepted")
	}
}
