package debias

import (
	"math"
	"strings"
	"testing"

	"github.com/lair-ir/lair/tables"
)

func emb(ids, roles, langs []string, dim int, vecs ...float32) *tables.Embeddings {
	return &tables.Embeddings{IDs: ids, Roles: roles, Langs: langs, Dim: dim, Vectors: vecs, ModelKey: "m"}
}

func close32(t *testing.T, got []float32, want ...float64) {
	t.Helper()
	for i := range want {
		if math.Abs(float64(got[i])-want[i]) > 1e-6 {
			t.Fatalf("vector = %v, want %v", got, want)
		}
	}
}

// Centring, by hand: the English passage mean of the unit vectors (1,0)
// and (0.6,0.8) is (0.8,0.4); (0.6,0.8) minus it is (-0.2,0.4), unit
// length (-0.4472,0.8944). German has one passage (0,1): centred it is 0.
func TestCenterHandComputed(t *testing.T) {
	P := tables.RolePassage
	fit := emb([]string{"f1", "f2", "f3"}, []string{P, P, P}, []string{"en", "en", "de"}, 2,
		2, 0, // unit length is taken first: (1,0)
		0.6, 0.8,
		0, 1)
	m, err := Fit(fit, "fit.arrow", Center, 0)
	if err != nil {
		t.Fatal(err)
	}
	e := emb([]string{"a", "b", "c"}, []string{P, P, P}, []string{"en", "de", "fr"}, 2,
		0.6, 0.8,
		0, 3, // equals the German mean: nothing left, stays zero
		1, 0) // French unseen: the passage mean over all languages, (0.5333,0.6)
	out, st, err := m.Apply(e, "eval.arrow")
	if err != nil {
		t.Fatal(err)
	}
	close32(t, out.Vector(0), -0.2/math.Sqrt(0.2), 0.4/math.Sqrt(0.2))
	close32(t, out.Vector(1), 0, 0)
	// (1,0) - (1.6/3, 1.8/3) = (0.4667,-0.6), unit length
	x, y := 1-1.6/3, -0.6
	n := math.Hypot(x, y)
	close32(t, out.Vector(2), x/n, y/n)
	if st.Zero != 1 || st.Fallback["fr"] != 1 || st.Rows != 3 {
		t.Errorf("stats %+v, want 1 zero, 1 French fallback, 3 rows", st)
	}
}

// Projection, by hand: language means (1,0,0) and (0,1,0) differ along
// (1,-1,0)/sqrt2; removing it maps an English and a German vector to the
// same point (0.7071,0.7071,0): language identity is gone.
func TestProjectHandComputed(t *testing.T) {
	Q := tables.RoleQuery
	fit := emb([]string{"f1", "f2"}, []string{Q, Q}, []string{"en", "de"}, 3, 1, 0, 0, 0, 1, 0)
	m, err := Fit(fit, "fit.arrow", Project, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Directions) != 1 {
		t.Fatalf("%d directions, want 1", len(m.Directions))
	}
	e := emb([]string{"a", "b", "c"}, []string{Q, Q, Q}, []string{"en", "de", "th"}, 3, 1, 0, 0, 0, 1, 0, 0, 0, 2)
	out, _, err := m.Apply(e, "eval.arrow")
	if err != nil {
		t.Fatal(err)
	}
	r := 1 / math.Sqrt2
	close32(t, out.Vector(0), r, r, 0)
	close32(t, out.Vector(1), r, r, 0)
	close32(t, out.Vector(2), 0, 0, 1) // orthogonal to the direction: unchanged
}

// Three languages whose means span two directions: asking for 2 removes both.
func TestProjectTwoComponentsOrthonormal(t *testing.T) {
	P := tables.RolePassage
	fit := emb([]string{"1", "2", "3"}, []string{P, P, P}, []string{"en", "de", "zh"}, 4,
		1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0)
	m, err := Fit(fit, "fit", Project, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Directions) != 2 {
		t.Fatalf("%d directions", len(m.Directions))
	}
	a, b := m.Directions[0], m.Directions[1]
	if math.Abs(dot(a, a)-1) > 1e-9 || math.Abs(dot(b, b)-1) > 1e-9 || math.Abs(dot(a, b)) > 1e-9 {
		t.Errorf("directions not orthonormal: %v %v", a, b)
	}
	// after removal the three language vectors coincide
	e := emb([]string{"x", "y", "z"}, []string{P, P, P}, []string{"en", "de", "zh"}, 4, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0)
	out, _, err := m.Apply(e, "eval")
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < 3; i++ {
		for j := range 4 {
			if math.Abs(float64(out.Vector(i)[j]-out.Vector(0)[j])) > 1e-6 {
				t.Fatalf("row %d = %v, row 0 = %v: language identity not removed", i, out.Vector(i), out.Vector(0))
			}
		}
	}
}

func TestJacobiEigen(t *testing.T) {
	vals, vecs := jacobiEigen([][]float64{{2, 1}, {1, 2}}) // eigenvalues 3 and 1
	got := []float64{vals[0], vals[1]}
	if !(math.Abs(got[0]-3) < 1e-12 && math.Abs(got[1]-1) < 1e-12) && !(math.Abs(got[0]-1) < 1e-12 && math.Abs(got[1]-3) < 1e-12) {
		t.Fatalf("eigenvalues %v, want 3 and 1", got)
	}
	for e := range 2 {
		// A v = lambda v
		v0, v1 := vecs[0][e], vecs[1][e]
		if math.Abs(2*v0+v1-vals[e]*v0) > 1e-9 || math.Abs(v0+2*v1-vals[e]*v1) > 1e-9 {
			t.Errorf("eigenvector %d wrong: (%v,%v)", e, v0, v1)
		}
	}
}

func TestRejects(t *testing.T) {
	P := tables.RolePassage
	one := emb([]string{"1", "2"}, []string{P, P}, []string{"en", "en"}, 2, 1, 0, 0, 1)
	two := emb([]string{"1", "2"}, []string{P, P}, []string{"en", "de"}, 2, 1, 0, 0, 1)
	cases := []struct {
		name string
		err  func() error
		want string
	}{
		{"one language", func() error { _, err := Fit(one, "train.arrow", Center, 0); return err }, `train.arrow: debias needs fit texts in at least two languages, found only "en"`},
		{"method", func() error { _, err := Fit(two, "f", "whiten", 0); return err }, `method "whiten"`},
		{"components", func() error { _, err := Fit(two, "f", Project, 2); return err }, "components = 2: want 1..1"},
		{"fit texts evaluated", func() error {
			m, _ := Fit(two, "f", Center, 0)
			_, _, err := m.Apply(two, "eval.arrow")
			return err
		}, "also in the fit set"},
		{"dimension", func() error {
			m, _ := Fit(two, "f", Center, 0)
			_, _, err := m.Apply(emb([]string{"x"}, []string{P}, []string{"en"}, 3, 1, 0, 0), "eval.arrow")
			return err
		}, "dimension 3"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := c.err(); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
		})
	}
}
