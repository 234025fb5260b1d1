#!/usr/bin/env bash
# make bench: every long benchmark recorded in bench/RESULTS.md, one after
# another (they are timing runs: do not run them beside other work).
# Output: bench/out/<name>.txt. Needs the setup `make bench` does first.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench/out
run() { # name command...
  local name=$1; shift
  echo "== $name: $*"
  { echo "# $(date -u +%FT%TZ) $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"; "$@"; } 2>&1 | tee "bench/out/$name.txt"
}
run pipeline bash bench/pipeline_bench.sh
run eval bash bench/eval_bench.sh
run fma-kernel go test ./eval/search -run '^$' -bench 'FMAPeak|Kernel$' -benchtime 2s -count 3
run shards-million bash -c 'go test -c -o /tmp/lair-search.test ./eval/search && /usr/bin/time -v /tmp/lair-search.test -test.run "^\$" -test.bench ShardedMillion -test.benchtime 1x'
run miracl-200k bash -c 'go test -c -o /tmp/lair-dags.test ./dags && cd dags && LAIR_MIRACL_PASSAGES=66667 /usr/bin/time -v /tmp/lair-dags.test -test.run MIRACLShardedReduced -test.v -test.timeout 3h'
run tokenizer go test ./encoder/tokenizer -run '^$' -bench 'Encode$|Encode/|Pathological' -benchtime 5x -cpu 1
run training-static go test ./encoder/train -run '^$' -bench 'TrainStep/static' -benchtime 30x
run training-minilm go test ./encoder/train -run '^$' -bench 'TrainStep/minilm|StepVsORT' -benchtime 3x
run s3 go test ./storage/s3store -run '^$' -bench . -benchtime 5x -count 3
run store-kills env LAIR_FAULT_KILLS=50 go test ./storage/faulttest -run 'TestKillLoop(S3)?$' -count=1 -v -timeout 30m
run downloads go test ./internal/fetch -run '^$' -bench . -benchtime 5x -count 3
run datasets go test ./stages -run '^$' -bench PrepareCold -benchtime 1x
run encode bash bench/encode/run.sh   # ~75 min on a loaded machine; N=1000 for a quick look
run quickstart bash -c 'rm -rf dags/.lair && /usr/bin/time -v ./bin/lair run dags/quickstart.yaml'
run sweep-scale bash -c 'go test -c -o /tmp/lair-reports.test ./reports && cd reports && for n in 30 120; do LAIR_SWEEP_RUNS=$n /usr/bin/time -v /tmp/lair-reports.test -test.run "^\$" -test.bench SweepScale -test.benchtime 1x; done'
run quickstart-eval-report bash -c 'go test -c -o /tmp/lair-stages.test ./stages && cd stages && LAIR_QUICKSTART_RUN=$PWD/../dags/.lair/runs/latest /usr/bin/time -v /tmp/lair-stages.test -test.run "^\$" -test.bench QuickstartEvalReport -test.benchtime 1x'
