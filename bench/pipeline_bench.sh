#!/usr/bin/env bash
# Engine benchmarks of package pipeline: planning a synthetic 1,000-stage
# DAG, a fully cached run of it, and the overhead per executed no-op stage.
# Run from the repository root: bash bench/pipeline_bench.sh
# Results are recorded in bench/RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "# $(date -u +%FT%TZ) $(nproc) CPUs, $(uname -sr), load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "## store on the repository's file system ($(df -T . | awk 'NR==2{print $2}'))"
go test -run '^$' -bench . -benchtime 10x -count 3 ./pipeline
if [ -d /dev/shm ]; then
  echo "## store on tmpfs (/dev/shm): the engine without file-system latency"
  LAIR_BENCH_DIR=/dev/shm go test -run '^$' -bench . -benchtime 10x -count 3 ./pipeline
fi
