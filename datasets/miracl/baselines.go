package miracl

// Baseline is a published MIRACL dev result for one language.
type Baseline struct {
	RunID     string // "bm25 (pyserini 2CR)" or "mdpr (pyserini 2CR)"
	Lang      string
	NDCG10    float64 // nDCG@10
	Recall100 float64 // Recall@100
}

// BaselineSource says where Baselines come from.
const BaselineSource = "Pyserini two-click reproductions for MIRACL v1.0 dev, pyserini/2cr/miracl.yaml " +
	"(https://castorini.github.io/pyserini/2cr/miracl.html; castorini/pyserini at f5ec517f39e45ae7124bced0a8c332ef8c969f52): " +
	"BM25 = Lucene BM25 with the language's analyzer (--bm25 --hits 1000), mDPR = castorini/mdpr-tied-pft-msmarco (flat faiss, --hits 1000); " +
	"trec_eval -c -M 100 -m ndcg_cut.10 and -m recall.100 against qrels.miracl-v1.0-<lang>-dev."

// Baselines are the published BM25 and mDPR nDCG@10 and Recall@100 per
// language (see BaselineSource). Their means over the 18 languages are
// BM25 nDCG@10 0.385, Recall@100 0.772; mDPR nDCG@10 0.421, Recall@100 0.797
// (BaselineMeans).
var Baselines = []Baseline{
	{"bm25 (pyserini 2CR)", "ar", 0.4809, 0.8885}, {"bm25 (pyserini 2CR)", "bn", 0.5079, 0.9088},
	{"bm25 (pyserini 2CR)", "en", 0.3506, 0.8190}, {"bm25 (pyserini 2CR)", "es", 0.3193, 0.7018},
	{"bm25 (pyserini 2CR)", "fa", 0.3334, 0.7306}, {"bm25 (pyserini 2CR)", "fi", 0.5513, 0.8910},
	{"bm25 (pyserini 2CR)", "fr", 0.1832, 0.6528}, {"bm25 (pyserini 2CR)", "hi", 0.4578, 0.8679},
	{"bm25 (pyserini 2CR)", "id", 0.4486, 0.9041}, {"bm25 (pyserini 2CR)", "ja", 0.3689, 0.8048},
	{"bm25 (pyserini 2CR)", "ko", 0.4190, 0.7831}, {"bm25 (pyserini 2CR)", "ru", 0.3342, 0.6614},
	{"bm25 (pyserini 2CR)", "sw", 0.3826, 0.7008}, {"bm25 (pyserini 2CR)", "te", 0.4942, 0.8307},
	{"bm25 (pyserini 2CR)", "th", 0.4838, 0.8874}, {"bm25 (pyserini 2CR)", "zh", 0.1801, 0.5599},
	{"bm25 (pyserini 2CR)", "de", 0.2262, 0.5724}, {"bm25 (pyserini 2CR)", "yo", 0.4059, 0.7325},
	{"mdpr (pyserini 2CR)", "ar", 0.4993, 0.8407}, {"mdpr (pyserini 2CR)", "bn", 0.4427, 0.8193},
	{"mdpr (pyserini 2CR)", "en", 0.3938, 0.7675}, {"mdpr (pyserini 2CR)", "es", 0.4777, 0.8643},
	{"mdpr (pyserini 2CR)", "fa", 0.4800, 0.8980}, {"mdpr (pyserini 2CR)", "fi", 0.4721, 0.7877},
	{"mdpr (pyserini 2CR)", "fr", 0.4352, 0.9154}, {"mdpr (pyserini 2CR)", "hi", 0.3830, 0.7755},
	{"mdpr (pyserini 2CR)", "id", 0.2719, 0.5734}, {"mdpr (pyserini 2CR)", "ja", 0.4390, 0.8254},
	{"mdpr (pyserini 2CR)", "ko", 0.4189, 0.7369}, {"mdpr (pyserini 2CR)", "ru", 0.4073, 0.7972},
	{"mdpr (pyserini 2CR)", "sw", 0.2990, 0.6158}, {"mdpr (pyserini 2CR)", "te", 0.3557, 0.7619},
	{"mdpr (pyserini 2CR)", "th", 0.3578, 0.6783}, {"mdpr (pyserini 2CR)", "zh", 0.5116, 0.9436},
	{"mdpr (pyserini 2CR)", "de", 0.4895, 0.8983}, {"mdpr (pyserini 2CR)", "yo", 0.4439, 0.8403},
}

// BaselineMeans returns each baseline's mean nDCG@10 and Recall@100 over
// its languages.
func BaselineMeans() map[string][2]float64 {
	sum := map[string][2]float64{}
	n := map[string]float64{}
	for _, b := range Baselines {
		v := sum[b.RunID]
		v[0] += b.NDCG10
		v[1] += b.Recall100
		sum[b.RunID] = v
		n[b.RunID]++
	}
	for k, v := range sum {
		sum[k] = [2]float64{v[0] / n[k], v[1] / n[k]}
	}
	return sum
}
