// transformers.js baseline for lair's encode benchmark.
//
//   node encode.mjs MODEL_DIR TEXTS.json OUT.json [batch_size] [threads] [max_length]
//
// Runs the feature-extraction pipeline (mean pooling, L2 normalisation) of
// @huggingface/transformers over the texts in batches, in the given order,
// on the CPU, with the same model files lair uses (MODEL_DIR is a lair
// model folder: config.json, tokenizer.json, model.onnx or onnx/model.onnx).
import { pipeline, env } from '@huggingface/transformers';
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';

const [modelDir, textsFile, outFile, bsArg, threadsArg, maxLenArg] = process.argv.slice(2);
if (!modelDir || !textsFile || !outFile) {
  console.error('usage: node encode.mjs MODEL_DIR TEXTS.json OUT.json [batch_size] [threads] [max_length]');
  process.exit(2);
}
const batchSize = Number(bsArg || 32);
const threads = Number(threadsArg || 2);
const maxLength = Number(maxLenArg || 128);

// transformers.js wants onnx/model.onnx and takes the truncation length from
// tokenizer_config.json: build that layout in a temporary folder, linking
// lair's model files.
const layout = fs.mkdtempSync(path.join(os.tmpdir(), 'lair-tjs-'));
const modelId = 'model';
const md = path.join(layout, modelId);
fs.mkdirSync(path.join(md, 'onnx'), { recursive: true });
const src = path.resolve(modelDir);
for (const f of ['config.json', 'tokenizer.json']) fs.symlinkSync(path.join(src, f), path.join(md, f));
fs.symlinkSync(fs.existsSync(path.join(src, 'model.onnx')) ? path.join(src, 'model.onnx') : path.join(src, 'onnx', 'model.onnx'),
  path.join(md, 'onnx', 'model.onnx'));
const tcPath = path.join(src, 'tokenizer_config.json');
const tc = fs.existsSync(tcPath) ? JSON.parse(fs.readFileSync(tcPath, 'utf8')) : {};
tc.model_max_length = maxLength;
fs.writeFileSync(path.join(md, 'tokenizer_config.json'), JSON.stringify(tc));
process.on('exit', () => fs.rmSync(layout, { recursive: true, force: true }));

env.allowRemoteModels = false;
env.allowLocalModels = true;
env.localModelPath = layout + '/';

const here = path.dirname(new URL(import.meta.url).pathname);
const version = (p) => JSON.parse(fs.readFileSync(path.join(here, 'node_modules', p, 'package.json'), 'utf8')).version;
const versions = `@huggingface/transformers ${version('@huggingface/transformers')}, onnxruntime-node ${version('onnxruntime-node')}, node ${process.version}`;

const texts = JSON.parse(fs.readFileSync(textsFile, 'utf8'));
const extractor = await pipeline('feature-extraction', modelId, {
  dtype: 'fp32',
  device: 'cpu',
  session_options: { intraOpNumThreads: threads, interOpNumThreads: 1 },
});
if (extractor.tokenizer.model_max_length !== maxLength) {
  throw new Error(`tokenizer truncates at ${extractor.tokenizer.model_max_length}, want ${maxLength}`);
}

const first = [];
const t0 = process.hrtime.bigint();
for (let i = 0; i < texts.length; i += batchSize) {
  const out = await extractor(texts.slice(i, i + batchSize), { pooling: 'mean', normalize: true });
  if (i === 0) {
    const dim = out.dims[1];
    for (let r = 0; r < Math.min(3, out.dims[0]); r++) first.push(Array.from(out.data.slice(r * dim, (r + 1) * dim)));
  }
  out.dispose?.();
}
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
const result = {
  name: 'transformers.js feature-extraction',
  texts: texts.length,
  seconds,
  texts_per_s: texts.length / seconds,
  peak_rss_mib: process.resourceUsage().maxRSS / 1024,
  versions,
  first,
};
fs.writeFileSync(outFile, JSON.stringify(result, null, 2));
console.log(`${result.name}: ${texts.length} texts in ${seconds.toFixed(1)} s = ${result.texts_per_s.toFixed(1)} texts/s, peak RSS ${result.peak_rss_mib.toFixed(0)} MiB (${versions})`);
