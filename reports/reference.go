package reports

// PaperRow is one reference row of the paper (Elmahdy et al. 2024, table
// restated in docs method.md): mAP mono/cross/multi and rank distance.
type PaperRow struct {
	Init, Sampling string
	Dataset        string
	Mono, Cross    float64
	Multi, RD      float64
}

// PaperRows are the paper's headline numbers for XQuAD-R and MLQA-R.
var PaperRows = []PaperRow{
	{"XLM-R", "X-X", "xquad-r", .792, .674, .547, 410.2}, {"XLM-R", "X-X", "mlqa-r", .648, .584, .473, 287.5},
	{"XLM-R", "X-Y", "xquad-r", .755, .700, .593, 295.4}, {"XLM-R", "X-Y", "mlqa-r", .626, .620, .508, 226.7},
	{"XLM-R", "Hybrid", "xquad-r", .798, .705, .593, 286.6}, {"XLM-R", "Hybrid", "mlqa-r", .648, .623, .512, 227.1},
	{"LaBSE", "X-X", "xquad-r", .808, .752, .652, 261.5}, {"LaBSE", "X-X", "mlqa-r", .681, .656, .550, 225.3},
	{"LaBSE", "X-Y", "xquad-r", .801, .762, .679, 225.2}, {"LaBSE", "X-Y", "mlqa-r", .671, .677, .576, 198.3},
	{"LaBSE", "Hybrid", "xquad-r", .817, .767, .682, 221.1}, {"LaBSE", "Hybrid", "mlqa-r", .686, .681, .579, 195.0},
}
