// Package metrics computes per-query retrieval metrics from the ranks of
// a query's relevant candidates in a full ranking.
//
// Every metric here needs only the 1-based ranks of the relevant
// candidates (relevance grade > 0) in the complete ranking of the pool,
// and their grades: the search engine computes those exactly over the
// whole pool, so "full" metrics (mAP over the full ranking, rank
// distance) cost no more than cut-off ones.
//
// Definitions (R = number of relevant candidates in the pool, r_1 < ... <
// r_R their ranks, g_i their grades):
//
//	map        AP = (1/R) sum_i i/r_i                  (trec_eval "map" on a full run)
//	map@k      AP@k = (1/min(R,k)) sum_{r_i<=k} i/r_i  (XTREME-R / ml_metrics apk)
//	r@k        |{i: r_i <= k}| / R                     (recall; with R=1 it is success@k)
//	mrr@k      1/r_1 if r_1 <= k else 0
//	ndcg@k     sum_{r_i<=k} g_i/log2(r_i+1) / IDCG@k,  IDCG from grades sorted descending
//	           (trec_eval ndcg_cut: linear gain = grade)
//	rd         r_R - r_1 (rank distance, Huang et al. 2023; defined when R >= 2)
package metrics
