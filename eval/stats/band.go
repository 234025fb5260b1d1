package stats

import "math"

// Band kinds (SweepRow.Band in reports).
const (
	BandT95    = "t95"    // mean ± t-based 95% CI, 3 or more values
	BandMinMax = "minmax" // 2 values
	BandNone   = "none"   // 1 value
)

// TQuantile975 returns the 0.975 quantile of Student's t with df degrees
// of freedom (table up to 30, Cornish-Fisher expansion beyond).
func TQuantile975(df int) float64 {
	table := []float64{math.NaN(), 12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145,
		2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042}
	if df < len(table) {
		return table[max(df, 0)]
	}
	z, n := 1.959963984540054, float64(df)
	return z + (z*z*z+z)/(4*n) + (5*math.Pow(z, 5)+16*z*z*z+3*z)/(96*n*n)
}

// Band returns the mean of vs and its band: mean ± t-based 95% CI with 3
// or more values, min–max with 2, none with 1.
func Band(vs []float64) (mean, lo, hi float64, kind string) {
	n := float64(len(vs))
	for _, v := range vs {
		mean += v
	}
	mean /= n
	switch {
	case len(vs) == 1:
		return mean, mean, mean, BandNone
	case len(vs) == 2:
		return mean, math.Min(vs[0], vs[1]), math.Max(vs[0], vs[1]), BandMinMax
	}
	ss := 0.0
	for _, v := range vs {
		ss += (v - mean) * (v - mean)
	}
	half := TQuantile975(len(vs)-1) * math.Sqrt(ss/(n-1)) / math.Sqrt(n)
	return mean, mean - half, mean + half, BandT95
}

// Mean is the arithmetic mean of x.
func Mean(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}
