// Package dags holds the DAG files users run with `lair run`, and the tests
// that validate every one of them against lair's stage types and run a
// reduced quickstart end to end.
//
//   - prepare.yaml: download, verify and normalize XQuAD-R, MLQA-R, MIRACL; pairs; leakage check
//   - bm25-baseline.yaml: the weights-free lexical baseline, evaluated and reported
//   - encode-eval.yaml: any encoder (path or hf://) encoded, evaluated and reported
//   - train-eval.yaml: the tiny encoder trained with mono, cross and hybrid batches
//   - quickstart.yaml: both folds, BM25, untrained and three trained systems (make demo)
//   - sweep.yaml: alpha x seeds x folds, the paper's stability claim
//   - paper.yaml: the paper's setting with XLM-R and LaBSE (GPU, internet)
package dags
