"""Export real exporter graphs with the machine's own torch/transformers.

Randomly initialised XLMRobertaModel, BertModel and DistilBertModel from small
configs (no download), each through torch.onnx.export: the TorchScript
exporter at opset 14 (LayerNorm decomposed) and 17 (LayerNormalization as one
op), and the dynamo exporter at opset 18, into OUT/<arch>-opset<N>[-dynamo]/
with config.json, a WordPiece tokenizer.json made from a fixed vocabulary,
and reference.json (fixed inputs and torch's last_hidden_state) so that
lair's tests can check ONNX Runtime and GoMLX against torch.

usage: python3 export_graphs.py OUT
"""
import json
import os
import shutil
import sys
import traceback

import torch
import transformers
from transformers import (BertConfig, BertModel, DistilBertConfig, DistilBertModel,
                          XLMRobertaConfig, XLMRobertaModel)

OUT = sys.argv[1]
VOCAB = 1000
WORDS = ("the of and to in is was for on as with by at from his her that it an are were which this be or has had "
         "not but first one their its new after who they have two been also other all year city time during most "
         "der die und das ist ein eine von mit el la los las de en que un una por para le les des du est dans une").split()


def vocab(specials):
    v = list(specials)
    v += [c for c in "abcdefghijklmnopqrstuvwxyz0123456789.,?!'-"]
    v += ["##" + c for c in "abcdefghijklmnopqrstuvwxyz0123456789"]
    v += [w for w in WORDS if w not in v]
    i = 0
    while len(v) < VOCAB:
        v.append("[unused%d]" % i)
        i += 1
    return v[:VOCAB]


def tokenizer_json(path, specials, cls, sep, pad, unk, pair_types):
    try:
        from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    except ImportError:
        return False
    v = vocab(specials)
    tok = Tokenizer(models.WordPiece({t: i for i, t in enumerate(v)}, unk_token=unk))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single=f"{cls} $A {sep}", pair=f"{cls} $A {sep} $B:{pair_types} {sep}:{pair_types}",
        special_tokens=[(cls, v.index(cls)), (sep, v.index(sep))])
    tok.enable_padding(pad_id=v.index(pad), pad_token=pad)
    tok.no_padding()
    tok.save(path)
    return True


def small(cls, **kw):
    return cls(vocab_size=VOCAB, max_position_embeddings=66, **kw)


ARCHS = {
    "bert": (BertModel, lambda: small(BertConfig, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                      intermediate_size=64, hidden_act="gelu"),
             ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"], ("[CLS]", "[SEP]", "[PAD]", "[UNK]", 1), True),
    "xlmr": (XLMRobertaModel, lambda: small(XLMRobertaConfig, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                            intermediate_size=64, type_vocab_size=1, pad_token_id=1, bos_token_id=0,
                                            eos_token_id=2),
             ["<s>", "<pad>", "</s>", "<unk>"], ("<s>", "</s>", "<pad>", "<unk>", 0), False),
    "distilbert": (DistilBertModel, lambda: small(DistilBertConfig, dim=32, n_layers=2, n_heads=2, hidden_dim=64,
                                                  activation="gelu"),
                   ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"], ("[CLS]", "[SEP]", "[PAD]", "[UNK]", 0), False),
}


def export(model, args, names, path, opset, exporter):
    """torch.onnx.export with the TorchScript exporter (dynamo=False, what
    optimum and most published exports used) or the dynamo exporter (torch's
    default since 2.9). Returns the exporter's name."""
    dyn = {n: {0: "batch", 1: "sequence"} for n in names}
    dyn["last_hidden_state"] = {0: "batch", 1: "sequence"}
    if exporter == "torchscript":
        try:
            torch.onnx.export(model, args, path, input_names=names, output_names=["last_hidden_state"],
                              dynamic_axes=dyn, opset_version=opset, dynamo=False)
        except TypeError:  # an older torch without the dynamo argument
            torch.onnx.export(model, args, path, input_names=names, output_names=["last_hidden_state"],
                              dynamic_axes=dyn, opset_version=opset)
        return "torchscript"
    torch.onnx.export(model, args, path, input_names=names, output_names=["last_hidden_state"],
                      dynamic_axes=dyn, opset_version=opset, dynamo=True, external_data=False)
    return "dynamo"


# (exporter, opset): TorchScript at 14 (LayerNorm decomposed) and 17
# (LayerNormalization), dynamo at 18 (its lowest supported opset).
EXPORTS = (("torchscript", 14), ("torchscript", 17), ("dynamo", 18))


def main():
    os.makedirs(OUT, exist_ok=True)
    manifest = {"torch": torch.__version__, "transformers": transformers.__version__, "models": {}, "failed": {}}
    try:
        import onnx
        manifest["onnx"] = onnx.__version__
    except ImportError:
        pass
    for arch, (cls, mkcfg, specials, (c, s, p, u, pair_types), types) in ARCHS.items():
        for exporter, opset in EXPORTS:
            name = f"{arch}-opset{opset}" + ("-dynamo" if exporter == "dynamo" else "")
            d = os.path.join(OUT, name)
            try:
                torch.manual_seed(0)
                cfg = mkcfg()
                model = cls(cfg).eval()
                os.makedirs(d, exist_ok=True)
                cfg.to_json_file(os.path.join(d, "config.json"))
                pad = specials.index(p)
                ids = torch.tensor([[specials.index(c), 60, 61, 62, 63, specials.index(s)],
                                    [specials.index(c), 70, specials.index(s), pad, pad, pad]], dtype=torch.int64)
                mask = (ids != pad).to(torch.int64)
                names = ["input_ids", "attention_mask"]
                args = (ids, mask)
                if types:
                    names.append("token_type_ids")
                    args = (ids, mask, torch.zeros_like(ids))
                how = export(model, args, names, os.path.join(d, "model.onnx"), opset, exporter)
                with torch.no_grad():
                    h = model(*args).last_hidden_state
                json.dump({"input_ids": ids.tolist(), "attention_mask": mask.tolist(),
                           "last_hidden_state": h.tolist()}, open(os.path.join(d, "reference.json"), "w"))
                tok = tokenizer_json(os.path.join(d, "tokenizer.json"), specials, c, s, p, u, pair_types)
                size = os.path.getsize(os.path.join(d, "model.onnx"))
                extra = sorted(f for f in os.listdir(d) if f not in ("model.onnx", "config.json", "reference.json", "tokenizer.json"))
                manifest["models"][name] = {"class": cls.__name__, "opset": opset, "exporter": how, "bytes": size,
                                            "tokenizer": tok, "attn_implementation": getattr(cfg, "_attn_implementation", None),
                                            "other_files": extra}
                print(f"exported {name}: {size} bytes ({how})", flush=True)
            except Exception as e:  # one failure must not lose the others
                traceback.print_exc()
                manifest["failed"][name] = f"{type(e).__name__}: {e}"[:2000]
                shutil.rmtree(d, ignore_errors=True)
                print(f"FAILED {name}: {type(e).__name__}: {e}", flush=True)
    json.dump(manifest, open(os.path.join(OUT, "manifest.json"), "w"), indent=2)
    if not manifest["models"]:
        sys.exit("no graph exported")


main()
