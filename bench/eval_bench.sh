#!/usr/bin/env bash
# Evaluation benchmarks (results: bench/RESULTS.md).
# usage: bash bench/eval_bench.sh   (needs the raw data mirror for the BM25 benchmark)
set -euo pipefail
cd "$(dirname "$0")/.."
go test -c -o /tmp/lair-search.test ./eval/search
go test -c -o /tmp/lair-eval.test ./eval
echo "== load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== scoring kernel, one thread (4x3 AVX2/FMA micro-kernel, 128 queries x 192 candidates x 768)"
taskset -c 0,1 /tmp/lair-search.test -test.run '^$' -test.bench BenchmarkKernel -test.benchtime 2s -test.count 3
echo "== full XQuAD-R-sized evaluation, random unit vectors, dim 768, all settings, 2 threads"
/usr/bin/time -f "wall %e s, user %U s, sys %S s, max RSS %M KB" taskset -c 0,1 \
  /tmp/lair-eval.test -test.run '^$' -test.bench BenchmarkXQuADRFull -test.benchtime 1x
echo "== same, also writing rankings.parquet"
LAIR_BENCH_RANKINGS=1 /usr/bin/time -f "wall %e s, user %U s, sys %S s, max RSS %M KB" taskset -c 0,1 \
  /tmp/lair-eval.test -test.run '^$' -test.bench BenchmarkXQuADRFull -test.benchtime 1x
echo "== BM25 on the real XQuAD-R and MLQA-R, all settings"
LAIR_MIRROR=${LAIR_MIRROR:-$PWD/../shared/data/raw} /usr/bin/time -f "wall %e s, user %U s, sys %S s, max RSS %M KB" taskset -c 0,1 \
  /tmp/lair-eval.test -test.run '^$' -test.bench BenchmarkBM25Real -test.benchtime 1x
echo "== load: $(cut -d' ' -f1-3 /proc/loadavg)"
