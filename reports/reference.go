package reports

// PaperRow is one reference row of the paper (Elmahdy et al. 2024, table
// restated in docs method.md): mAP mono/cross/multi and rank distance for
// the LAReQA datasets, mean nDCG@10 for MIRACL (zero = not reported).
type PaperRow struct {
	Init, Sampling string
	Dataset        string
	Mono, Cross    float64
	Multi, RD      float64
	NDCG10         float64
}

// PaperRows are the paper's headline numbers: XQuAD-R, MLQA-R, MIRACL.
var PaperRows = []PaperRow{
	{"XLM-R", "X-X", "xquad-r", .792, .674, .547, 410.2, 0}, {"XLM-R", "X-X", "mlqa-r", .648, .584, .473, 287.5, 0},
	{"XLM-R", "X-Y", "xquad-r", .755, .700, .593, 295.4, 0}, {"XLM-R", "X-Y", "mlqa-r", .626, .620, .508, 226.7, 0},
	{"XLM-R", "Hybrid", "xquad-r", .798, .705, .593, 286.6, 0}, {"XLM-R", "Hybrid", "mlqa-r", .648, .623, .512, 227.1, 0},
	{"LaBSE", "X-X", "xquad-r", .808, .752, .652, 261.5, 0}, {"LaBSE", "X-X", "mlqa-r", .681, .656, .550, 225.3, 0},
	{"LaBSE", "X-Y", "xquad-r", .801, .762, .679, 225.2, 0}, {"LaBSE", "X-Y", "mlqa-r", .671, .677, .576, 198.3, 0},
	{"LaBSE", "Hybrid", "xquad-r", .817, .767, .682, 221.1, 0}, {"LaBSE", "Hybrid", "mlqa-r", .686, .681, .579, 195.0, 0},
	{"XLM-R", "X-X", "miracl", 0, 0, 0, 0, .415}, {"XLM-R", "X-Y", "miracl", 0, 0, 0, 0, .399}, {"XLM-R", "Hybrid", "miracl", 0, 0, 0, 0, .405},
	{"LaBSE", "X-X", "miracl", 0, 0, 0, 0, .455}, {"LaBSE", "X-Y", "miracl", 0, 0, 0, 0, .418}, {"LaBSE", "Hybrid", "miracl", 0, 0, 0, 0, .441},
}
