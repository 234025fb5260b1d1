// Package mteb writes lair's metrics as mteb results files, so tools that
// read mteb's results (its TaskResult loader, the leaderboard code,
// notebooks written for mteb) read lair's numbers too.
//
// One JSON file per system (run_id) and dataset, at
// <dir>/<run_id>/no_revision_available/<Task>.json (mteb's folder layout:
// model name, revision, task), where Task is "LAReQA-<dataset>" (e.g.
// LAReQA-xquad-r) or, for MIRACL, "MIRACL-lair". Its fields are those of
// mteb's TaskResult: dataset_revision, task_name, mteb_version, scores,
// evaluation_time, kg_co2_emissions. scores maps the split ("test") to one
// entry per hf_subset, each with hf_subset, languages (ISO 639-3 plus
// script, e.g. deu-Latn), main_score and every metric under its mteb name.
//
// lair's settings map to subsets:
//
//	mono  query language X, pool X       hf_subset "X-X"
//	cross query language X, pool Y       hf_subset "X-Y"
//	multi query language X, pooled pool   hf_subset "X-multi" (languages: X then the pool's)
//
// and the macro averages over query languages to "all-X" style subsets are
// not written (mteb averages subsets itself). Metric names: map@K ->
// map_at_K, r@K -> recall_at_K, ndcg@K -> ndcg_at_K, mrr@K -> mrr_at_K,
// p@K -> precision_at_K; lair's untruncated "map" stays "map"; bias
// measures keep lair's name with a "lair_" prefix (lair_rd, lair_peer@100).
// main_score is the map of the paper (lair's "map") when present, else
// ndcg_at_10. mteb_version is written as "1.12.48": the oldest mteb whose
// loader reads this layout without conversion.
package mteb
