#!/usr/bin/env python3
"""Export real SAM, CoCa and CLIP checkpoints to a Pseudo-RIS Studio model pack.

The pack is a folder with seven ONNX graphs, a CLIP-style tokenizer.json and manifest.json, with the graph split and
canonical tensor names of DESIGN.md section 4 (see src/engine/runtime/contracts.ts, which checks every graph):

  segmenter.encoder  sam_encoder.onnx   image float32[1,3,1024,1024] -> image_embeddings [1,256,64,64]
  segmenter.decoder  sam_decoder.onnx   official SamOnnxModel: image_embeddings, point_coords [1,N,2],
                                        point_labels [1,N], mask_input [1,1,256,256], has_mask_input [1],
                                        orig_im_size [2] -> masks [1,4,H,W], iou_predictions [1,4],
                                        low_res_masks [1,4,256,256]
  captioner.visual   coca_visual.onnx   image [B,3,224,224] -> image_latent [B,768] (L2-normalized),
                                        image_embs [B,255,768]
  captioner.text     coca_text.onnx     text int64 [B,L] -> token_embs [B,L,768]
  captioner.decoder  coca_decoder.onnx  image_embs [B,255,768], token_embs [B,L,768] -> logits [B,49408]
                                        (last position; --decoder-all-positions gives [B,L,49408])
  scorer.image       clip_image.onnx    image [B,3,224,224] -> embedding [B,1024] (L2-normalized)
  scorer.text        clip_text.onnx     text int64 [B,77] -> embedding [B,1024] (L2-normalized)

Requirements (not installed by npm; a Python 3.9+ environment with):
  torch (>= 1.13), onnx, onnxruntime (for --verify, on by default), numpy,
  segment-anything (pip install git+https://github.com/facebookresearch/segment-anything.git),
  open_clip_torch (2.x; 2.20-2.26 tested against the source, see research/contracts.md section 2).

Examples:
  python scripts/export_models.py --out resources/models/sam-vit-h-coca-cc3m \\
      --sam-checkpoint sam_vit_h_4b8939.pth --sam-type vit_h \\
      --coca-checkpoint laion_cc3m/checkpoints/epoch_1.pt \\
      --clip-model RN50 --clip-pretrained openai
  python scripts/export_models.py --out resources/models/sam-vit-b-coca-mscoco \\
      --sam-checkpoint sam_vit_b_01ec64.pth --sam-type vit_b \\
      --coca-pretrained mscoco_finetuned_laion2b_s13b_b90k
  python scripts/export_models.py --dry-run-manifest   # print the manifest it would write; needs no torch

Then: npx pseudo-ris models validate <out>

This script could not be run on the project's build machines (no PyTorch, no weights); its manifest writer is tested
there with --dry-run-manifest, and every exported graph is checked by `models validate` against the same contracts.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import inspect
import json
import os
import sys
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Optional

# File name of each role's graph inside the pack.
FILES = {
    "segmenter.encoder": "sam_encoder.onnx",
    "segmenter.decoder": "sam_decoder.onnx",
    "captioner.visual": "coca_visual.onnx",
    "captioner.text": "coca_text.onnx",
    "captioner.decoder": "coca_decoder.onnx",
    "scorer.image": "clip_image.onnx",
    "scorer.text": "clip_text.onnx",
}
TOKENIZER_FILE = "tokenizer.json"

# CLIP / CoCa tokenizer facts (OpenAI SimpleTokenizer; open_clip uses the same ids).
SOT, EOT, PAD, VOCAB_SIZE, CONTEXT_LENGTH = 49406, 49407, 0, 49408, 77
SOT_TEXT, EOT_TEXT = "<|startoftext|>", "<|endoftext|>"
CLIP_SPLIT_PATTERN = r"'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"

SAM_MEAN, SAM_STD = [123.675, 116.28, 103.53], [58.395, 57.12, 57.375]
OPENAI_MEAN, OPENAI_STD = [0.48145466, 0.4578275, 0.40821073], [0.26862954, 0.26130258, 0.27577711]

# ONNX protobuf files cannot exceed 2 GiB; larger graphs (SAM ViT-H encoder, ~2.5 GB) keep their tensors in one
# side file `<graph>_data.bin`, which the manifest lists under externalData.
EXTERNAL_DATA_THRESHOLD = 1_800_000_000


# ----------------------------------------------------------------------------------------------------------------
# Manifest (no torch needed: --dry-run-manifest exercises this part alone)


def file_entry(pack: Path, file: str, names: Optional[Dict[str, str]] = None, dry_run: bool = False) -> Dict[str, Any]:
    """The manifest entry of one graph: file, sha256, bytes, external data side files, name overrides."""
    if dry_run:
        entry: Dict[str, Any] = {"file": file, "sha256": "0" * 64, "bytes": 1}
    else:
        entry = {"file": file, "sha256": sha256(pack / file), "bytes": (pack / file).stat().st_size}
        side = pack / external_data_name(file)
        if side.exists():
            entry["externalData"] = [{"file": side.name, "sha256": sha256(side), "bytes": side.stat().st_size}]
    if names:
        entry["names"] = names
    return entry


def build_manifest(pack: Path, name: str, description: str, logit_scale: float = 100.0, dry_run: bool = False) -> Dict[str, Any]:
    """The manifest.json object, valid against src/engine/runtime/manifest.ts (ManifestSchema)."""
    entry = lambda role: file_entry(pack, FILES[role], dry_run=dry_run)  # noqa: E731
    special = {"sot": SOT, "eot": EOT, "pad": PAD}
    crop = {"size": 224, "mean": OPENAI_MEAN, "std": OPENAI_STD}
    return {
        "format": "pseudo-ris-model-pack",
        "version": 1,
        "name": name,
        "description": description,
        "demo": False,
        "segmenter": {
            "kind": "sam",
            "encoder": entry("segmenter.encoder"),
            "decoder": entry("segmenter.decoder"),
            "preprocess": {"longestSide": 1024, "mean": SAM_MEAN, "std": SAM_STD},
            "maskThreshold": 0.0,
        },
        "captioner": {
            "kind": "coca",
            "visual": entry("captioner.visual"),
            "text": entry("captioner.text"),
            "decoder": entry("captioner.decoder"),
            "tokenizer": TOKENIZER_FILE,
            "specialTokens": special,
            "vocabSize": VOCAB_SIZE,
            "preprocess": crop,
        },
        "scorer": {
            "kind": "clip",
            "image": entry("scorer.image"),
            "text": entry("scorer.text"),
            "tokenizer": TOKENIZER_FILE,
            "specialTokens": special,
            "contextLength": CONTEXT_LENGTH,
            "logitScale": logit_scale,
            "preprocess": crop,
        },
    }


def write_json_atomic(path: Path, value: Any) -> None:
    """Writes JSON via a temporary file and rename, so a crash never leaves half a manifest."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(value, f, indent=2, ensure_ascii=False)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def external_data_name(file: str) -> str:
    return f"{Path(file).stem}_data.bin"


# ----------------------------------------------------------------------------------------------------------------
# Tokenizer: Hugging Face CLIPConverter structure over OpenAI's BPE vocabulary (no `tokenizers` package needed)


@lru_cache()
def bytes_to_unicode() -> Dict[int, str]:
    """OpenAI CLIP's reversible byte -> unicode map (simple_tokenizer.py)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(2**8):
        if b not in bs:
            bs.append(b)
            cs.append(2**8 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def clip_tokenizer_json(bpe_path: Path) -> Dict[str, Any]:
    """tokenizer.json for OpenAI CLIP's 49,408-token BPE (ids identical to SimpleTokenizer's)."""
    merges_text = gzip.open(bpe_path).read().decode("utf-8").split("\n")
    merges = [tuple(line.split()) for line in merges_text[1 : 49152 - 256 - 2 + 1]]
    vocab_list = list(bytes_to_unicode().values())
    vocab_list = vocab_list + [v + "</w>" for v in vocab_list]
    vocab_list += ["".join(m) for m in merges]
    vocab_list += [SOT_TEXT, EOT_TEXT]
    if len(vocab_list) != VOCAB_SIZE:
        raise SystemExit(f"{bpe_path}: built {len(vocab_list)} tokens, expected {VOCAB_SIZE}")
    vocab = {token: i for i, token in enumerate(vocab_list)}
    special = lambda i, content: {  # noqa: E731
        "id": i, "content": content, "single_word": False, "lstrip": False, "rstrip": False,
        "normalized": True, "special": True,
    }
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [special(SOT, SOT_TEXT), special(EOT, EOT_TEXT)],
        "normalizer": {
            "type": "Sequence",
            "normalizers": [
                {"type": "NFC"},
                {"type": "Replace", "pattern": {"Regex": r"\s+"}, "content": " "},
                {"type": "Lowercase"},
            ],
        },
        "pre_tokenizer": {
            "type": "Sequence",
            "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": CLIP_SPLIT_PATTERN}, "behavior": "Removed", "invert": True},
                {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False},
            ],
        },
        "post_processor": {
            "type": "RobertaProcessing",
            "sep": [EOT_TEXT, EOT],
            "cls": [SOT_TEXT, SOT],
            "trim_offsets": False,
            "add_prefix_space": False,
        },
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": EOT_TEXT,
            "continuing_subword_prefix": "",
            "end_of_word_suffix": "</w>",
            "fuse_unk": False,
            "byte_fallback": False,
            "vocab": vocab,
            "merges": [f"{a} {b}" for a, b in merges],
        },
    }


TOKENIZER_CONFIG = {
    "tokenizer_class": "CLIPTokenizer",
    "bos_token": SOT_TEXT,
    "eos_token": EOT_TEXT,
    "unk_token": EOT_TEXT,
    "pad_token": "!",  # id 0: OpenAI CLIP and CoCa pad with 0
    "model_max_length": CONTEXT_LENGTH,
    "do_lower_case": True,
    "clean_up_tokenization_spaces": False,
}


def default_bpe_path() -> Path:
    """open_clip ships OpenAI's bpe_simple_vocab_16e6.txt.gz inside its package."""
    import open_clip.tokenizer as oc_tokenizer

    return Path(oc_tokenizer.default_bpe())


# ----------------------------------------------------------------------------------------------------------------
# Export helpers (torch imported lazily so --help and --dry-run-manifest work without it)


def onnx_export(module, args: tuple, path: Path, input_names: List[str], output_names: List[str],
                dynamic_axes: Dict[str, Dict[int, str]], opset: int) -> None:
    """torch.onnx.export with the TorchScript exporter (the dynamo exporter, default from torch 2.9, is not used:
    the official SAM export and every contract here were written against the tracing exporter)."""
    import torch
    import warnings

    kwargs: Dict[str, Any] = dict(
        export_params=True,
        opset_version=opset,
        do_constant_folding=True,
        input_names=input_names,
        output_names=output_names,
        dynamic_axes=dynamic_axes,
    )
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kwargs["dynamo"] = False
    tmp_dir = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.stem}."))
    tmp = tmp_dir / path.name
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", category=UserWarning)
        with torch.no_grad():
            torch.onnx.export(module, args, str(tmp), **kwargs)
    finalize_onnx(tmp, path)
    for leftover in tmp_dir.iterdir():
        leftover.unlink()
    tmp_dir.rmdir()


def finalize_onnx(tmp: Path, path: Path) -> None:
    """Moves an exported graph into the pack; graphs over ~1.8 GB get their tensors in one `<name>_data.bin`."""
    import onnx

    total = sum(p.stat().st_size for p in tmp.parent.iterdir())
    side = path.parent / external_data_name(path.name)
    if total < EXTERNAL_DATA_THRESHOLD:
        model = onnx.load(str(tmp))
        onnx.checker.check_model(model)
        onnx.save_model(model, str(path))
        if side.exists():
            side.unlink()
        return
    model = onnx.load(str(tmp), load_external_data=True)
    onnx.save_model(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                    location=side.name, size_threshold=1024)
    onnx.checker.check_model(str(path))  # by path: the checker reads external data itself


def export_sam(args, pack: Path) -> None:
    """SAM image encoder (fixed 1024 input, app-side preprocessing) and the official SamOnnxModel decoder."""
    import torch
    from segment_anything import sam_model_registry
    from segment_anything.utils.onnx import SamOnnxModel

    sam = sam_model_registry[args.sam_type](checkpoint=args.sam_checkpoint).eval()

    class SamEncoder(torch.nn.Module):
        # in: image float32[1,3,1024,1024], already resized (longest side 1024), normalized with SAM mean/std and
        # zero-padded bottom/right by the app (src/engine/image/tensor.ts) -- exactly Sam.preprocess's output.
        def __init__(self, model):
            super().__init__()
            self.image_encoder = model.image_encoder

        def forward(self, image):
            return self.image_encoder(image)  # out: image_embeddings float32[1,256,64,64]

    print(f"[sam] encoder ({args.sam_type}) -> {FILES['segmenter.encoder']}", flush=True)
    onnx_export(SamEncoder(sam).eval(), (torch.randn(1, 3, 1024, 1024),), pack / FILES["segmenter.encoder"],
                ["image"], ["image_embeddings"], {}, args.opset)

    # The official decoder export (segment-anything scripts/export_onnx_model.py): 4 masks (no
    # --return-single-mask: automatic mask generation keeps the 3 multimask outputs), predicted IoU as the score.
    decoder = SamOnnxModel(model=sam, return_single_mask=False, use_stability_score=False,
                           return_extra_metrics=False).eval()
    if args.gelu_approximate:
        for _, module in decoder.named_modules():
            if isinstance(module, torch.nn.GELU):
                module.approximate = "tanh"
    embed_dim = sam.prompt_encoder.embed_dim
    embed_size = sam.prompt_encoder.image_embedding_size
    mask_input_size = [4 * x for x in embed_size]
    dummy = {
        "image_embeddings": torch.randn(1, embed_dim, *embed_size, dtype=torch.float),
        "point_coords": torch.randint(low=0, high=1024, size=(1, 5, 2), dtype=torch.float),
        "point_labels": torch.randint(low=0, high=4, size=(1, 5), dtype=torch.float),
        "mask_input": torch.randn(1, 1, *mask_input_size, dtype=torch.float),
        "has_mask_input": torch.tensor([1], dtype=torch.float),
        "orig_im_size": torch.tensor([1500, 2250], dtype=torch.float),
    }
    with torch.no_grad():
        decoder(**dummy)
    print(f"[sam] decoder -> {FILES['segmenter.decoder']}", flush=True)
    onnx_export(decoder, tuple(dummy.values()), pack / FILES["segmenter.decoder"], list(dummy.keys()),
                ["masks", "iou_predictions", "low_res_masks"],
                {"point_coords": {1: "num_points"}, "point_labels": {1: "num_points"}}, args.opset)


def load_coca(args):
    import open_clip

    pretrained = args.coca_checkpoint or args.coca_pretrained
    # A local checkpoint (e.g. Pseudo-RIS's CC3M fine-tune `epoch_1.pt`, a training checkpoint with "state_dict" and
    # "module." prefixes) is accepted by open_clip's loader as the `pretrained` path.
    model = open_clip.create_model(args.coca_model, pretrained=pretrained, precision="fp32", device="cpu")
    return model.eval()


def export_coca(args, pack: Path) -> None:
    """CoCa split into visual / text / decoder graphs (research/contracts.md section 2.4)."""
    import torch

    model = load_coca(args)

    class Visual(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, image):
            # in: image float32[B,3,224,224] (OpenAI mean/std)
            latent, embs = self.m._encode_image(image)  # latent is L2-normalized inside _encode_image
            return latent, embs  # out: image_latent [B,768], image_embs [B,255,768]

    class Text(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, text):
            # in: text int64[B,L] starting with sot. The tower appends its CLS at the end and drops it from the
            # tokens; causal attention means position t depends on tokens 0..t only.
            return self.m.text(text)[1]  # out: token_embs [B,L,768] (no ln_final, as CoCa feeds the decoder)

    class Decoder(torch.nn.Module):
        def __init__(self, m, last_only: bool):
            super().__init__()
            self.m = m
            self.last_only = last_only

        def forward(self, image_embs, token_embs):
            logits = self.m.text_decoder(image_embs, token_embs)  # [B,L,V]
            return logits[:, -1] if self.last_only else logits

    batch, length = 2, 7
    image = torch.randn(batch, 3, 224, 224)
    text = torch.randint(1, 49000, (batch, length), dtype=torch.long)
    text[:, 0] = SOT
    print(f"[coca] visual ({args.coca_model}) -> {FILES['captioner.visual']}", flush=True)
    onnx_export(Visual(model).eval(), (image,), pack / FILES["captioner.visual"], ["image"],
                ["image_latent", "image_embs"], {"image": {0: "B"}, "image_latent": {0: "B"}, "image_embs": {0: "B"}},
                args.opset)
    print(f"[coca] text -> {FILES['captioner.text']}", flush=True)
    onnx_export(Text(model).eval(), (text,), pack / FILES["captioner.text"], ["text"], ["token_embs"],
                {"text": {0: "B", 1: "L"}, "token_embs": {0: "B", 1: "L"}}, args.opset)
    with torch.no_grad():
        _, image_embs = model._encode_image(image)
        token_embs = model.text(text)[1]
    last_only = not args.decoder_all_positions
    print(f"[coca] decoder ({'last position' if last_only else 'all positions'}) -> {FILES['captioner.decoder']}",
          flush=True)
    out_axes = {0: "B"} if last_only else {0: "B", 1: "L"}
    onnx_export(Decoder(model, last_only).eval(), (image_embs, token_embs), pack / FILES["captioner.decoder"],
                ["image_embs", "token_embs"], ["logits"],
                {"image_embs": {0: "B"}, "token_embs": {0: "B", 1: "L"}, "logits": out_axes}, args.opset)
    if args.verify:
        verify_coca(model, pack, last_only)


def export_clip(args, pack: Path) -> float:
    """CLIP image and text towers with L2-normalized embeddings; returns the model's logit scale (100 for OpenAI)."""
    import open_clip
    import torch
    import torch.nn.functional as F

    model = open_clip.create_model(args.clip_model, pretrained=args.clip_pretrained, precision="fp32",
                                   device="cpu").eval()

    class Image(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, image):
            return F.normalize(self.m.encode_image(image), dim=-1)

    class Text(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, text):
            # in: text int64[B,77], zero-padded; CLIP pools at argmax(id) = the first eot.
            return F.normalize(self.m.encode_text(text), dim=-1)

    text = torch.zeros(2, CONTEXT_LENGTH, dtype=torch.long)
    text[:, 0], text[:, 1], text[:, 2] = SOT, 320, EOT
    print(f"[clip] image ({args.clip_model}/{args.clip_pretrained}) -> {FILES['scorer.image']}", flush=True)
    onnx_export(Image(model).eval(), (torch.randn(2, 3, 224, 224),), pack / FILES["scorer.image"], ["image"],
                ["embedding"], {"image": {0: "B"}, "embedding": {0: "B"}}, args.opset)
    print(f"[clip] text -> {FILES['scorer.text']}", flush=True)
    onnx_export(Text(model).eval(), (text,), pack / FILES["scorer.text"], ["text"], ["embedding"],
                {"text": {0: "B"}, "embedding": {0: "B"}}, args.opset)
    if args.verify:
        verify_clip(model, pack)
    return float(model.logit_scale.exp().item())


# ----------------------------------------------------------------------------------------------------------------
# Verification: onnxruntime against torch on shapes other than the traced ones (catches baked-in dynamic dims)


def ort_session(path: Path):
    import onnxruntime as ort

    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def report(label: str, torch_out, ort_out, tolerance: float) -> None:
    import numpy as np

    diff = float(np.max(np.abs(torch_out.detach().numpy() - ort_out)))
    status = "ok" if diff <= tolerance else "MISMATCH"
    print(f"[verify] {label}: max |torch - onnxruntime| = {diff:.2e} ({status}, tolerance {tolerance})", flush=True)
    if diff > tolerance:
        raise SystemExit(f"verification failed for {label}")


def verify_coca(model, pack: Path, last_only: bool) -> None:
    import torch

    image = torch.randn(3, 3, 224, 224)
    text = torch.randint(1, 49000, (3, 12), dtype=torch.long)
    text[:, 0] = SOT
    with torch.no_grad():
        latent, embs = model._encode_image(image)
        tokens = model.text(text)[1]
        logits = model.text_decoder(embs, tokens)
    visual = ort_session(pack / FILES["captioner.visual"]).run(None, {"image": image.numpy()})
    report("captioner.visual image_latent (B=3)", latent, visual[0], 1e-3)
    report("captioner.visual image_embs (B=3)", embs, visual[1], 1e-3)
    token_out = ort_session(pack / FILES["captioner.text"]).run(None, {"text": text.numpy()})[0]
    report("captioner.text token_embs (B=3, L=12)", tokens, token_out, 1e-3)
    decoded = ort_session(pack / FILES["captioner.decoder"]).run(
        None, {"image_embs": embs.numpy(), "token_embs": tokens.numpy()})[0]
    report("captioner.decoder logits (B=3, L=12)", logits[:, -1] if last_only else logits, decoded, 1e-2)


def verify_clip(model, pack: Path) -> None:
    import torch
    import torch.nn.functional as F

    image = torch.randn(3, 3, 224, 224)
    text = torch.zeros(3, CONTEXT_LENGTH, dtype=torch.long)
    text[:, 0], text[:, 1], text[:, 2], text[:, 3] = SOT, 320, 1929, EOT
    with torch.no_grad():
        image_embedding = F.normalize(model.encode_image(image), dim=-1)
        text_embedding = F.normalize(model.encode_text(text), dim=-1)
    report("scorer.image embedding (B=3)", image_embedding,
           ort_session(pack / FILES["scorer.image"]).run(None, {"image": image.numpy()})[0], 1e-4)
    report("scorer.text embedding (B=3)", text_embedding,
           ort_session(pack / FILES["scorer.text"]).run(None, {"text": text.numpy()})[0], 1e-4)


# ----------------------------------------------------------------------------------------------------------------


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="See the module docstring (head of this file) for the graph contracts.")
    parser.add_argument("--out", type=Path, help="pack folder to write (created if missing)")
    parser.add_argument("--name", help="pack name (default: the --out folder name)")
    parser.add_argument("--description", default=None, help="free text shown in `models list`")
    parser.add_argument("--sam-checkpoint", help="segment-anything checkpoint, e.g. sam_vit_h_4b8939.pth")
    parser.add_argument("--sam-type", choices=["vit_h", "vit_l", "vit_b"], default="vit_h")
    parser.add_argument("--gelu-approximate", action="store_true", help="tanh GELU in the SAM decoder (faster Erf-free)")
    parser.add_argument("--coca-model", default="coca_ViT-L-14")
    coca = parser.add_mutually_exclusive_group()
    coca.add_argument("--coca-pretrained", default="mscoco_finetuned_laion2b_s13b_b90k",
                      help="open_clip pretrained tag (default mscoco_finetuned_laion2b_s13b_b90k)")
    coca.add_argument("--coca-checkpoint", help="local open_clip checkpoint, e.g. Pseudo-RIS laion_cc3m/.../epoch_1.pt")
    parser.add_argument("--clip-model", default="RN50")
    parser.add_argument("--clip-pretrained", default="openai")
    parser.add_argument("--bpe-vocab", type=Path, help="bpe_simple_vocab_16e6.txt.gz (default: the one open_clip ships)")
    parser.add_argument("--decoder-all-positions", action="store_true",
                        help="CoCa decoder returns logits for every position [B,L,V] instead of the last [B,V]")
    parser.add_argument("--opset", type=int, default=17)
    parser.add_argument("--skip", action="append", choices=["sam", "coca", "clip"], default=[],
                        help="reuse this model's graphs already in --out instead of exporting them (repeatable)")
    parser.add_argument("--no-verify", dest="verify", action="store_false",
                        help="skip the onnxruntime-vs-torch check of the CoCa and CLIP graphs")
    parser.add_argument("--dry-run-manifest", action="store_true",
                        help="print the manifest this script writes (placeholder checksums) and exit; needs no torch")
    args = parser.parse_args(argv)
    if not args.dry_run_manifest:
        if args.out is None:
            parser.error("--out is required")
        if "sam" not in args.skip and not args.sam_checkpoint:
            parser.error("--sam-checkpoint is required (or --skip sam to reuse the graphs in --out)")
    return args


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    pack = args.out if args.out is not None else Path("pack")
    name = args.name or pack.resolve().name
    coca_source = args.coca_checkpoint or args.coca_pretrained
    description = args.description or (
        f"SAM {args.sam_type} + CoCa {args.coca_model} ({Path(coca_source).name}) + CLIP {args.clip_model} "
        f"({args.clip_pretrained}), exported by scripts/export_models.py")
    if args.dry_run_manifest:
        print(json.dumps(build_manifest(pack, name, description, dry_run=True), indent=2))
        return 0

    pack.mkdir(parents=True, exist_ok=True)
    if "sam" not in args.skip:
        export_sam(args, pack)
    if "coca" not in args.skip:
        export_coca(args, pack)
    logit_scale = 100.0
    if "clip" not in args.skip:
        logit_scale = round(export_clip(args, pack), 4)
    bpe = args.bpe_vocab or default_bpe_path()
    write_json_atomic(pack / TOKENIZER_FILE, clip_tokenizer_json(bpe))
    write_json_atomic(pack / "tokenizer_config.json", TOKENIZER_CONFIG)
    missing = [f for f in FILES.values() if not (pack / f).exists()]
    if missing:
        raise SystemExit(f"{pack}: missing graphs {', '.join(missing)} (a --skip'ped model was never exported here)")
    manifest = build_manifest(pack, name, description, logit_scale=logit_scale)
    write_json_atomic(pack / "manifest.json", manifest)  # last: the pack is complete once it exists
    print(f"Wrote {pack / 'manifest.json'}. Check it with: npx pseudo-ris models validate {pack}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
