#!/usr/bin/env bash
# bench/gpu/run.sh: the prepared GPU check of issue 11 (GPU training and
# encoding through GoMLX's XLA backend, real exporter graphs, the
# sentence-transformers anchor). One command, nothing from the network,
# < 8 minutes on one H100-class GPU (the budget of each part is a timeout
# below). On a machine without a usable GPU it runs what it can (build,
# `lair doctor`, the torch.onnx exports when torch is there) and marks the
# GPU parts "skipped" in the table: bench/gpu/run_test.go checks that.
#
#   bash bench/gpu/run.sh                  # results in $OUT (default bench/gpu/out)
#
# Steps:
#  1. lair: $LAIR_BIN, else `go build ./cmd/lair` (GOPROXY=off: the module
#     cache must be there), else bin/lair. XLA is always linked in; its
#     PJRT plugin is found at run time (JAX's jax_plugins/xla_cuda*/
#     xla_cuda_plugin.so in Python's site-packages, or $LAIR_PJRT_PLUGIN).
#  2. `lair doctor bench/gpu/gpu.yaml` -> $OUT/doctor.txt; exit 0 means
#     train/contrastive and encode (backend gomlx) can run on cuda here.
#  3. export_graphs.py: torch.onnx exports (TorchScript and dynamo) of random-init XLMRobertaModel,
#     BertModel and DistilBertModel (small configs, < 1 MB each, opsets 14
#     and 17) with tokenizer.json and torch reference outputs ->
#     $OUT/graphs.tar.gz (runs on CPU too; skipped without torch).
#  4. `lair model new`: a random-init XLM-R-base-sized encoder (12 layers,
#     768 wide, 12 heads, 3072 FFN, 250,002 tokens, 514 positions).
#  5. `lair run bench/gpu/gpu.yaml`: train/contrastive on cuda for $STEPS
#     steps at batch 100 x 128 tokens (XQuAD-R parallel QA pairs, hybrid
#     batches), then encode XQuAD-R's 13,014 candidates (and its questions)
#     with backend gomlx on cuda. GPU memory is sampled with nvidia-smi.
#  6. anchor.py: sentence-transformers MultipleNegativesRankingLoss on the
#     same config, tokenizer, batch and length, same pairs table.
#  7. $OUT/table.md: steps/s, pairs/s, texts/s, GPU memory, lair/anchor.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-bench/gpu/out}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
WORK=${BENCH_WORK:-$(mktemp -d)}
STEPS=${BENCH_STEPS:-30}
# BENCH_DEVICE=cpu and BENCH_MODEL="--layers 1 --hidden 32 --heads 2 --intermediate 64"
# run every part on the CPU with a tiny model: a check of the script itself.
DEVICE=${BENCH_DEVICE:-cuda}
PRECISION=${BENCH_PRECISION:-fp32} # bf16: mixed precision training
MODEL_FLAGS=${BENCH_MODEL:---layers 12 --hidden 768 --heads 12 --intermediate 3072 --vocab-size 250002}
WARMUP=${BENCH_WARMUP:-5}
BATCH=100
MAXLEN=128
PY=${PYTHON:-python3}
export GOMLX_NO_AUTO_INSTALL=1 # never download a PJRT plugin
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}
: >"$OUT/run.log"
log() { echo "[$(date -u +%T)] $*" | tee -a "$OUT/run.log"; }
declare -A R # results for the table

if [ -z "${LAIR_MIRROR:-}" ]; then
  for d in shared/data/raw ../shared/data/raw; do
    if [ -d "$d/xquad-r" ]; then LAIR_MIRROR=$(cd "$d" && pwd); break; fi
  done
fi
export LAIR_MIRROR=${LAIR_MIRROR:-}
export LAIR_CACHE=${LAIR_CACHE:-$WORK/cache}

# JAX's CUDA plugin finds the pip NVIDIA libraries through its RPATH; put
# them on the library path too, for the plugin's own dlopen calls.
if command -v "$PY" >/dev/null 2>&1; then
  nv=$("$PY" - 2>/dev/null <<'EOF'
import glob, os, site
dirs = []
for s in site.getsitepackages() + [site.getusersitepackages()]:
    dirs += sorted(glob.glob(os.path.join(s, "nvidia", "*", "lib")))
print(":".join(dirs))
EOF
)
  [ -n "$nv" ] && export LD_LIBRARY_PATH="$nv${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi

# 1. lair
if [ -n "${LAIR_BIN:-}" ]; then
  LAIR=$LAIR_BIN
else
  if command -v go >/dev/null 2>&1; then
    log "building lair (XLA backend linked in)"
    if GOPROXY=off GOFLAGS=-mod=mod timeout 300 go build -o "$WORK/lair" ./cmd/lair >>"$OUT/run.log" 2>&1; then
      LAIR=$WORK/lair
    else
      log "go build failed (see run.log)"
    fi
  fi
  if [ -z "${LAIR:-}" ] && [ -x bin/lair ]; then LAIR=$(pwd)/bin/lair; fi
  if [ -z "${LAIR:-}" ]; then
    log "FAILED: no lair binary: set LAIR_BIN, install Go with the module cache, or put bin/lair in the checkout"; exit 1
  fi
fi
"$LAIR" version | tee -a "$OUT/run.log"

# ONNX Runtime (model/load inspects the graph with it): lair's own copy, else
# the library inside Python's onnxruntime package (CPU is enough).
if [ -z "${LAIR_ORT_LIB:-}" ] && command -v "$PY" >/dev/null 2>&1; then
  lib=$("$PY" -c 'import glob, os, onnxruntime; print((sorted(glob.glob(os.path.join(os.path.dirname(onnxruntime.__file__), "capi", "libonnxruntime.so*"))) or [""])[0])' 2>/dev/null)
  [ -n "$lib" ] && export LAIR_ORT_LIB=$lib
fi
log "ONNX Runtime library: ${LAIR_ORT_LIB:-the lair default}"

# 2. doctor (on a tiny stand-in model: the DAG needs an existing folder)
"$LAIR" model new --arch xlmr --layers 1 --hidden 32 --heads 2 "$WORK/tiny" >>"$OUT/run.log" 2>&1
log "lair doctor bench/gpu/gpu.yaml"
"$LAIR" doctor bench/gpu/gpu.yaml --set model="$WORK/tiny" --set device="$DEVICE" >"$OUT/doctor.txt" 2>&1
doctor_rc=$?
GPU=no
if [ "$doctor_rc" -eq 0 ]; then GPU=yes; fi
log "doctor exit $doctor_rc: GPU parts $([ $GPU = yes ] && echo run || echo skipped)"
if [ "$GPU" = yes ] && [ -z "$LAIR_MIRROR" ]; then
  log "no dataset mirror with xquad-r (set LAIR_MIRROR): GPU parts skipped"; GPU=no
fi
gpu_name=$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null | head -1)
R[gpu]=${gpu_name:-none}

# 3. exporter graphs
if [ "${BENCH_GRAPHS:-1}" = 0 ]; then
  R[graphs]="skipped: BENCH_GRAPHS=0"
elif "$PY" -c 'import torch, transformers' >/dev/null 2>&1; then
  log "torch.onnx exports -> $OUT/graphs.tar.gz"
  # One archive: what comes back from a GPU machine is a few files.
  if timeout 150 "$PY" bench/gpu/export_graphs.py "$WORK/graphs" >>"$OUT/run.log" 2>&1; then
    R[graphs]="$(ls "$WORK/graphs" | grep -c opset) graphs in graphs.tar.gz (see its manifest.json)"
  else
    R[graphs]="FAILED (see run.log)"
  fi
  [ -d "$WORK/graphs" ] && tar -C "$WORK" -czf "$OUT/graphs.tar.gz" graphs
else
  R[graphs]="skipped: no torch/transformers for $PY"
fi
log "graphs: ${R[graphs]}"

# GPU memory sampling: max memory.used (MiB) while a command runs, minus the idle value.
mem_run() { # file command...
  local f=$1; shift
  local idle
  idle=$(nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits 2>/dev/null | head -1)
  nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 250 >"$f" 2>/dev/null &
  local pid=$!
  "$@"
  local rc=$?
  kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
  local peak
  peak=$(sort -n "$f" | tail -1)
  if [ -n "$peak" ] && [ -n "$idle" ]; then echo "$(( peak - idle ))" >"$f.peak"; else : >"$f.peak"; fi
  return $rc
}

if [ "$GPU" = yes ]; then
  # 4. the XLM-R-base-sized model
  log "lair model new: XLM-R-base-sized random-init encoder"
  # shellcheck disable=SC2086
  if ! timeout 120 "$LAIR" model new --arch xlmr $MODEL_FLAGS --max-positions 514 "$WORK/xlmr-base" >>"$OUT/run.log" 2>&1; then
    log "FAILED: lair model new"; GPU=failed
  fi
fi
if [ "$GPU" = yes ]; then
  # 5. train + encode on cuda
  log "lair run bench/gpu/gpu.yaml (train $STEPS steps, encode with gomlx) on $DEVICE"
  cp bench/gpu/gpu.yaml "$WORK/gpu.yaml" # its run records go to $WORK/.lair
  t0=$(date +%s)
  mem_run "$WORK/mem_lair.txt" timeout ${BENCH_RUN_TIMEOUT:-300} "$LAIR" run "$WORK/gpu.yaml" --store "$WORK/store" --jobs 1 \
    --set model="$WORK/xlmr-base" --set steps="$STEPS" --set device="$DEVICE" --set precision="$PRECISION" >>"$OUT/run.log" 2>&1
  rc=$?
  log "lair run exit $rc after $(( $(date +%s) - t0 )) s"
  [ "$rc" -ne 0 ] && GPU=failed
  R[lair_mem]=$(cat "$WORK/mem_lair.txt.peak" 2>/dev/null)
  tlog=$(find "$WORK/store" -name training_log.parquet | head -1)
  estats=$(find "$WORK/store" -name encode_stats.json | head -1)
  pairs=$(find "$WORK/store" -name pairs.parquet | head -1)
  [ -n "$tlog" ] && "$LAIR" show "$tlog" --format csv >"$WORK/training_log.csv"
  [ -n "$pairs" ] && "$LAIR" show "$pairs" --format csv >"$WORK/pairs.csv"
  [ -n "$estats" ] && cp "$estats" "$OUT/encode_stats.json"
  [ -f "$WORK/training_log.csv" ] && cp "$WORK/training_log.csv" "$OUT/training_log.csv"
  # 6. the anchor
  if [ -f "$WORK/pairs.csv" ] && [ "$DEVICE" = cuda ] && "$PY" -c 'import sentence_transformers' >/dev/null 2>&1; then
    log "anchor: sentence-transformers MNRL, $STEPS steps"
    mem_run "$WORK/mem_anchor.txt" timeout 150 "$PY" bench/gpu/anchor.py "$WORK/xlmr-base" "$WORK/pairs.csv" \
      "$STEPS" "$BATCH" "$MAXLEN" "$WARMUP" "$OUT/anchor.json" >>"$OUT/run.log" 2>&1 || log "FAILED: anchor (see run.log)"
    R[anchor_mem]=$(cat "$WORK/mem_anchor.txt.peak" 2>/dev/null)
  else
    log "anchor skipped: no pairs table or no sentence-transformers"
  fi
fi

# 7. the table
"$PY" - "$OUT" "$WARMUP" "$BATCH" "${R[gpu]} (device $DEVICE, precision $PRECISION)" "${R[graphs]}" "${R[lair_mem]:-}" "${R[anchor_mem]:-}" "$GPU" "$STEPS" \
  >"$OUT/table.md" 2>>"$OUT/run.log" <<'EOF' || {
import csv, json, os, sys
out, warm, batch, gpu, graphs, lmem, amem, state, steps = sys.argv[1:10]
warm, batch = int(warm), int(batch)
def num(x):
    return f"{x:.3g}" if isinstance(x, float) else str(x)
lair = {}
tl = os.path.join(out, "training_log.csv")
if os.path.exists(tl):
    rows = list(csv.DictReader(open(tl)))[warm:]
    secs = sum(float(r["batch_pairs"]) / float(r["pairs_per_s"]) for r in rows if float(r["pairs_per_s"]) > 0)
    if rows and secs > 0:
        lair["steps/s"] = len(rows) / secs
        lair["pairs/s"] = sum(float(r["batch_pairs"]) for r in rows) / secs
es = os.path.join(out, "encode_stats.json")
if os.path.exists(es):
    p = json.load(open(es))["passages"]
    if p.get("Wall"):
        lair["texts/s"] = p["Encoded"] / (p["Wall"] / 1e9)
        lair["texts"] = f'{p["Texts"]:,}'
        if p["Encoded"] != p["Texts"]:
            lair["distinct"] = f', {p["Encoded"]:,} distinct texts encoded'
anc = json.load(open(os.path.join(out, "anchor.json"))) if os.path.exists(os.path.join(out, "anchor.json")) else {}
skip = "skipped (no GPU)" if state == "no" else ("failed" if state == "failed" else "n/a")
def cell(d, k):
    return num(d[k]) if k in d else skip
def ratio(k):
    a, b = lair.get(k), anc.get(k.replace("/", "_per_"))
    return f"{a / b:.2f}" if a and b else "-"
print(f"GPU: {gpu}; {steps} steps at batch {batch} x 128 tokens, first {warm} not timed; XLM-R-base-sized random init.\n")
print("| measure | lair (GoMLX; XLA on cuda) | anchor (sentence-transformers MNRL) | lair/anchor |")
print("|---|---|---|---|")
print(f"| train steps/s | {cell(lair, 'steps/s')} | {num(anc['steps_per_s']) if anc else skip} | {ratio('steps/s')} |")
print(f"| train pairs/s | {cell(lair, 'pairs/s')} | {num(anc['pairs_per_s']) if anc else skip} | {ratio('pairs/s')} |")
lm = f"{lmem} MiB (train + encode)" if lmem else skip
am = f"{amem} MiB (torch peak allocated {anc['max_memory_allocated_mib']:.0f} MiB)" if amem and anc else skip
print(f"| GPU memory, max used | {lm} | {am} | - |")
print(f"| encode texts/s (backend gomlx, {lair.get('texts', '13,014')} XQuAD-R candidates{lair.get('distinct', '')}) | {cell(lair, 'texts/s')} | - | - |")
print(f"\nExporter graphs: {graphs}.")
EOF
  log "FAILED: writing the table"; exit 1
}
cat "$OUT/table.md"
log "done: $OUT/table.md"
