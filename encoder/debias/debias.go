package debias

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/lair-ir/lair/tables"
)

// Methods.
const (
	Center  = "center"
	Project = "project"
)

// Model is a fitted debiasing transform.
type Model struct {
	Method string
	Dim    int
	// Center: mean unit vector per role+"/"+lang, and per role over all languages.
	Means     map[string][]float64
	RoleMeans map[string][]float64
	// Project: orthonormal directions removed from every vector.
	Directions [][]float64
	// Languages and fit ids (to refuse applying to the fit texts).
	Langs []string
	fitID map[string]struct{}
}

// Stats count what Apply did.
type Stats struct {
	Rows     int
	Fallback map[string]int // rows per language that used the role mean (center only)
	Zero     int            // rows left as zero vectors (nothing left after removal)
}

// Fit fits a Model of the given method on fit (training-side embeddings).
// name names the fit file in errors; components is the number of
// directions the projection removes (at most languages-1).
func Fit(fit *tables.Embeddings, name, method string, components int) (*Model, error) {
	if err := fit.Validate(name); err != nil {
		return nil, err
	}
	m := &Model{Method: method, Dim: fit.Dim, fitID: make(map[string]struct{}, fit.Len())}
	for i, id := range fit.IDs {
		m.fitID[fit.Roles[i]+"/"+id] = struct{}{}
	}
	langs := map[string]int{}
	for _, l := range fit.Langs {
		langs[l]++
	}
	for l := range langs {
		m.Langs = append(m.Langs, l)
	}
	sort.Strings(m.Langs)
	if len(m.Langs) < 2 {
		return nil, fmt.Errorf("%s: debias needs fit texts in at least two languages, found only %q: fit on the training pairs' dataset, which has several",
			name, strings.Join(m.Langs, ","))
	}
	switch method {
	case Center:
		m.Means = meansBy(fit, func(i int) string { return fit.Roles[i] + "/" + fit.Langs[i] })
		m.RoleMeans = meansBy(fit, func(i int) string { return fit.Roles[i] })
	case Project:
		if components < 1 || components > len(m.Langs)-1 {
			return nil, fmt.Errorf("%s: components = %d: want 1..%d (languages in the fit set minus one)", name, components, len(m.Langs)-1)
		}
		langMeans := meansBy(fit, func(i int) string { return fit.Langs[i] })
		m.Directions = principal(langMeans, m.Langs, fit.Dim, components)
	default:
		return nil, fmt.Errorf("debias method %q: want %s or %s", method, Center, Project)
	}
	return m, nil
}

// meansBy returns the mean unit vector of each group.
func meansBy(e *tables.Embeddings, group func(i int) string) map[string][]float64 {
	sums := map[string][]float64{}
	counts := map[string]int{}
	for i := 0; i < e.Len(); i++ {
		g := group(i)
		s := sums[g]
		if s == nil {
			s = make([]float64, e.Dim)
			sums[g] = s
		}
		v := e.Vector(i)
		n := norm32(v)
		if n == 0 {
			continue
		}
		for j, x := range v {
			s[j] += float64(x) / n
		}
		counts[g]++
	}
	for g, s := range sums {
		if counts[g] > 0 {
			for j := range s {
				s[j] /= float64(counts[g])
			}
		}
	}
	return sums
}

func norm32(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}

// principal returns the top k principal directions of the language means
// (centred on their average), as orthonormal vectors of length dim.
func principal(means map[string][]float64, langs []string, dim, k int) [][]float64 {
	L := len(langs)
	avg := make([]float64, dim)
	for _, l := range langs {
		for j, x := range means[l] {
			avg[j] += x / float64(L)
		}
	}
	c := make([][]float64, L)
	for i, l := range langs {
		c[i] = make([]float64, dim)
		for j, x := range means[l] {
			c[i][j] = x - avg[j]
		}
	}
	gram := make([][]float64, L)
	for i := range gram {
		gram[i] = make([]float64, L)
		for j := range gram[i] {
			gram[i][j] = dot(c[i], c[j])
		}
	}
	vals, vecs := jacobiEigen(gram)
	order := make([]int, L)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return vals[order[a]] > vals[order[b]] })
	var dirs [][]float64
	for _, e := range order {
		if len(dirs) == k {
			break
		}
		if vals[e] <= 1e-12 {
			break // the means span fewer directions than asked for
		}
		u := make([]float64, dim)
		for i := range c {
			for j := range u {
				u[j] += vecs[i][e] * c[i][j]
			}
		}
		// Gram–Schmidt against earlier directions for numerical safety
		for _, d := range dirs {
			p := dot(u, d)
			for j := range u {
				u[j] -= p * d[j]
			}
		}
		n := math.Sqrt(dot(u, u))
		if n == 0 {
			continue
		}
		for j := range u {
			u[j] /= n
		}
		dirs = append(dirs, u)
	}
	return dirs
}

func dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// jacobiEigen returns the eigenvalues and eigenvectors (columns of vecs)
// of the small symmetric matrix a, by cyclic Jacobi rotations.
func jacobiEigen(in [][]float64) ([]float64, [][]float64) {
	n := len(in)
	a := make([][]float64, n)
	v := make([][]float64, n)
	for i := range a {
		a[i] = slices.Clone(in[i])
		v[i] = make([]float64, n)
		v[i][i] = 1
	}
	for sweep := 0; sweep < 100; sweep++ {
		var off float64
		for p := 0; p < n; p++ {
			for q := p + 1; q < n; q++ {
				off += a[p][q] * a[p][q]
			}
		}
		if off < 1e-30 {
			break
		}
		for p := 0; p < n; p++ {
			for q := p + 1; q < n; q++ {
				if math.Abs(a[p][q]) < 1e-300 {
					continue
				}
				theta := (a[q][q] - a[p][p]) / (2 * a[p][q])
				t := math.Copysign(1, theta) / (math.Abs(theta) + math.Sqrt(theta*theta+1))
				cs := 1 / math.Sqrt(t*t+1)
				sn := t * cs
				for k := 0; k < n; k++ {
					akp, akq := a[k][p], a[k][q]
					a[k][p] = cs*akp - sn*akq
					a[k][q] = sn*akp + cs*akq
				}
				for k := 0; k < n; k++ {
					apk, aqk := a[p][k], a[q][k]
					a[p][k] = cs*apk - sn*aqk
					a[q][k] = sn*apk + cs*aqk
				}
				for k := 0; k < n; k++ {
					vkp, vkq := v[k][p], v[k][q]
					v[k][p] = cs*vkp - sn*vkq
					v[k][q] = sn*vkp + cs*vkq
				}
			}
		}
	}
	vals := make([]float64, n)
	for i := range vals {
		vals[i] = a[i][i]
	}
	return vals, v
}

// Apply returns e debiased by m. name names e's file in errors. Applying
// to a text the model was fit on is an error: fit on training-side texts.
func (m *Model) Apply(e *tables.Embeddings, name string) (*tables.Embeddings, Stats, error) {
	st := Stats{Fallback: map[string]int{}}
	if err := e.Validate(name); err != nil {
		return nil, st, err
	}
	if e.Dim != m.Dim {
		return nil, st, fmt.Errorf("%s: dimension %d but the debias model was fit on dimension %d: fit and apply with the same encoder", name, e.Dim, m.Dim)
	}
	for i, id := range e.IDs {
		if _, ok := m.fitID[e.Roles[i]+"/"+id]; ok {
			return nil, st, fmt.Errorf("%s: row %d (%s %q) is also in the fit set: fit debiasing on training-side texts only, never on evaluated texts",
				name, i, e.Roles[i], id)
		}
	}
	out := &tables.Embeddings{IDs: e.IDs, Roles: e.Roles, Langs: e.Langs, Dim: e.Dim, ModelKey: e.ModelKey, License: e.License,
		Vectors: make([]float32, len(e.Vectors))}
	w := make([]float64, e.Dim)
	for i := 0; i < e.Len(); i++ {
		v := e.Vector(i)
		n := norm32(v)
		if n == 0 {
			st.Zero++
			continue // stays zero: retrieval ranks it last, as for any zero vector
		}
		for j, x := range v {
			w[j] = float64(x) / n
		}
		switch m.Method {
		case Center:
			mean, ok := m.Means[e.Roles[i]+"/"+e.Langs[i]]
			if !ok {
				mean = m.RoleMeans[e.Roles[i]]
				st.Fallback[e.Langs[i]]++
			}
			for j := range w {
				if mean != nil {
					w[j] -= mean[j]
				}
			}
		case Project:
			for _, d := range m.Directions {
				p := dot(w, d)
				for j := range w {
					w[j] -= p * d[j]
				}
			}
		}
		n2 := math.Sqrt(dot(w, w))
		if n2 < 1e-12 {
			st.Zero++
			continue
		}
		dst := out.Vector(i)
		for j := range w {
			dst[j] = float32(w[j] / n2)
		}
	}
	st.Rows = e.Len()
	return out, st, nil
}
