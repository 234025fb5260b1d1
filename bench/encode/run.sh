#!/usr/bin/env bash
# Encode benchmark: lair vs ONNX Runtime alone vs transformers.js on a
# generated encoder the size of all-MiniLM-L12 (12 layers, 384 wide, 12 heads,
# 1536 FFN, 30,522-token WordPiece vocabulary) over the 13,014 XQuAD-R
# candidate sentences. The texts are cut into slices of SLICE texts and the
# three tools run interleaved slice by slice, so that changes in machine load
# hit all three alike. Results: $OUT/encoder.md (default bench/encode/out).
#
#   bash bench/encode/run.sh            # all 13,014 texts
#   N=1000 bash bench/encode/run.sh     # the first N texts only (a quick look)
#
# Needs: Go with cgo, node + npm, the ONNX Runtime library (make ort) and the
# raw data mirror ($LAIR_MIRROR or ../shared/data/raw).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
OUT=${OUT:-$ROOT/bench/encode/out}
THREADS=${THREADS:-$(nproc)}
BATCH=${BATCH:-32}
MAXLEN=${MAXLEN:-128}
SLICE=${SLICE:-1000}
RAW=${LAIR_MIRROR:-$ROOT/../shared/data/raw}
mkdir -p "$OUT/slices" "$OUT/results"

go build -o "$OUT/lairbench" ./bench/encode/lairbench
"$OUT/lairbench" texts -raw "$RAW" -out "$OUT/texts-all.json"
node -e '
const fs = require("fs");
const [all, dir, n, size] = process.argv.slice(1);
let t = JSON.parse(fs.readFileSync(all));
if (+n > 0) t = t.slice(0, +n);
for (let i = 0, k = 0; i < t.length; i += +size, k++)
  fs.writeFileSync(`${dir}/${String(k).padStart(3, "0")}.json`, JSON.stringify(t.slice(i, i + +size)));
' "$OUT/texts-all.json" "$OUT/slices" "${N:-0}" "$SLICE"

MODEL=$OUT/minilm-l12-random
if [ ! -f "$MODEL/model.onnx" ]; then
  # Vocabulary learned from the candidate texts themselves (words + characters).
  "$OUT/lairbench" gen -out "$MODEL" -texts "$OUT/texts-all.json" -layers 12 -hidden 384 -heads 12 -intermediate 1536 -vocab-size 30522
fi

if [ ! -d bench/encode/node/node_modules/@huggingface/transformers ]; then
  # --ignore-scripts: onnxruntime-node's install script downloads CUDA
  # providers from outside the npm registry; its CPU binary ships in the tarball.
  (cd bench/encode/node && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
fi

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -m); threads=$THREADS batch=$BATCH max_length=$MAXLEN slice=$SLICE"
for s in "$OUT"/slices/*.json; do
  k=$(basename "$s" .json)
  echo "slice $k (load: $(cut -d' ' -f1-3 /proc/loadavg))"
  "$OUT/lairbench" lair -model "$MODEL" -texts "$s" -out "$OUT/results/lair-$k.json" -threads "$THREADS" -batch "$BATCH" -max-length "$MAXLEN"
  "$OUT/lairbench" ort  -model "$MODEL" -texts "$s" -out "$OUT/results/ort-$k.json"  -threads "$THREADS" -batch "$BATCH" -max-length "$MAXLEN"
  node bench/encode/node/encode.mjs "$MODEL" "$s" "$OUT/results/tjs-$k.json" "$BATCH" "$THREADS" "$MAXLEN"
done
"$OUT/lairbench" report "$OUT"/results/lair-*.json "$OUT"/results/ort-*.json "$OUT"/results/tjs-*.json | tee "$OUT/encoder.md"
