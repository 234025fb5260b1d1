"""The anchor of bench/gpu/run.sh: sentence-transformers'
MultipleNegativesRankingLoss on the same XLM-R-base-sized config, the same
tokenizer, the same prefixes, batch size and max length as lair's run.

The model is randomly initialised from the lair model folder's config.json
(XLMRobertaModel; no download); the tokenizer is the folder's
tokenizer.json. Pairs come from a CSV of lair's pairs.parquet (split=train
rows, in file order). AdamW lr 3e-5, weight decay 0.01, scale 20, gradient
clipping 1, fp32 with TF32 matmuls (what GoMLX's XLA backend uses on CUDA).
The first WARMUP steps are not timed.

usage: python3 anchor.py MODEL_DIR PAIRS_CSV STEPS BATCH MAX_LEN WARMUP OUT_JSON
"""
import csv
import json
import os
import sys
import tempfile
import time

import torch
from sentence_transformers import SentenceTransformer, losses, models
from transformers import PreTrainedTokenizerFast, XLMRobertaConfig, XLMRobertaModel

model_dir, pairs_csv, steps, batch, max_len, warmup, out_json = sys.argv[1:8]
steps, batch, max_len, warmup = int(steps), int(batch), int(max_len), int(warmup)
torch.backends.cuda.matmul.allow_tf32 = True
torch.backends.cudnn.allow_tf32 = True
torch.manual_seed(1)

cfg_json = json.load(open(os.path.join(model_dir, "config.json")))
cfg = XLMRobertaConfig(vocab_size=cfg_json["vocab_size"], hidden_size=cfg_json["hidden_size"],
                       num_hidden_layers=cfg_json["num_hidden_layers"], num_attention_heads=cfg_json["num_attention_heads"],
                       intermediate_size=cfg_json["intermediate_size"],
                       max_position_embeddings=cfg_json["max_position_embeddings"], type_vocab_size=1,
                       pad_token_id=cfg_json.get("pad_token_id", 1), hidden_act=cfg_json.get("hidden_act", "gelu"))
tmp = tempfile.mkdtemp()
XLMRobertaModel(cfg).save_pretrained(tmp)
tk = json.load(open(os.path.join(model_dir, "tokenizer_config.json"))) if os.path.exists(
    os.path.join(model_dir, "tokenizer_config.json")) else {}
tok = PreTrainedTokenizerFast(tokenizer_file=os.path.join(model_dir, "tokenizer.json"),
                              pad_token=tk.get("pad_token", "<pad>"), cls_token=tk.get("cls_token", "<s>"),
                              sep_token=tk.get("sep_token", "</s>"), unk_token=tk.get("unk_token", "<unk>"))
tok.save_pretrained(tmp)

word = models.Transformer(tmp, max_seq_length=max_len)
pool = models.Pooling(word.get_word_embedding_dimension(), pooling_mode="mean")
st = SentenceTransformer(modules=[word, pool], device="cuda")
loss_fn = losses.MultipleNegativesRankingLoss(st, scale=20.0)
decay = [p for n, p in st.named_parameters() if p.ndim > 1]
other = [p for n, p in st.named_parameters() if p.ndim <= 1]
opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": other, "weight_decay": 0.0}], lr=3e-5)

pairs = []
with open(pairs_csv, newline="") as f:
    for row in csv.DictReader(f):
        if row.get("split", "train") == "train" and row["q_text"] and row["p_text"]:
            pairs.append(("Query: " + row["q_text"], "Passage: " + row["p_text"]))
need = steps * batch
if len(pairs) < need:
    pairs = (pairs * (need // max(1, len(pairs)) + 1))[:need]

st.train()
times, tokens = [], 0
torch.cuda.reset_peak_memory_stats()
for k in range(steps):
    qs, ps = zip(*pairs[k * batch:(k + 1) * batch])
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    feats = []
    for texts in (qs, ps):
        f = st.tokenize(list(texts))
        feats.append({n: t.to("cuda") for n, t in f.items()})
    loss = loss_fn(feats, None)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(st.parameters(), 1.0)
    opt.step()
    opt.zero_grad(set_to_none=True)
    torch.cuda.synchronize()
    times.append(time.perf_counter() - t0)
    if k >= warmup:
        tokens += sum(int(f["attention_mask"].numel()) for f in feats)
    print(f"anchor step {k + 1}/{steps}: loss {loss.item():.4f} {times[-1]:.3f}s", flush=True)

timed = times[warmup:]
res = {"steps": len(timed), "seconds": sum(timed), "steps_per_s": len(timed) / sum(timed),
       "pairs_per_s": len(timed) * batch / sum(timed), "padded_tokens_per_step": tokens / max(1, len(timed)),
       "max_memory_allocated_mib": torch.cuda.max_memory_allocated() / 2**20,
       "max_memory_reserved_mib": torch.cuda.max_memory_reserved() / 2**20,
       "params": sum(p.numel() for p in st.parameters()), "torch": torch.__version__,
       "gpu": torch.cuda.get_device_name(0)}
json.dump(res, open(out_json, "w"), indent=2)
print(json.dumps(res), flush=True)
