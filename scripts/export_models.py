#!/usr/bin/env python3
"""Export real SAM, CoCa and CLIP checkpoints to a Pseudo-RIS Studio model pack.

The pack is a folder with ONNX graphs, a CLIP-style tokenizer.json and manifest.json, with the graph split and
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
                                        (last position, sliced before the vocabulary projection;
                                        --decoder-all-positions gives [B,L,49408])
  scorer.image       clip_image.onnx    image [B,3,224,224] -> embedding [B,1024] (L2-normalized)
  scorer.text        clip_text.onnx     text int64 [B,77] -> embedding [B,1024] (L2-normalized)

and the optional fast graphs (issue 15; --no-fast-graphs leaves them out), documented in scripts/README.md:

  segmenter.decoderBatched  sam_decoder_batched.onnx  the same SamOnnxModel with a prompt batch axis: point_coords
                                        [B,N,2], point_labels [B,N] (mask_input [1,1,256,256] broadcast over B)
                                        -> masks [B,4,H,W], iou_predictions [B,4], low_res_masks [B,4,256,256]
  captioner.cross    coca_cross.onnx    image_embs [B,T,W] -> cross_key_<j>, cross_value_<j> [B,Hx,T,Dx],
                                        j = 0..M-1 (one pair per multimodal decoder layer)
  captioner.decoderWithPast  coca_decoder_with_past.onnx  input_ids int64 [B,1], position int64 [1],
                                        past_key_<i>, past_value_<i> [B,H,P,D] (i = 0..K-1: text tower layers,
                                        then the decoder's self-attention layers), cross_key_<j>, cross_value_<j>
                                        [C,Hx,T,Dx] of C crops, the B = C*R rows grouped by crop (rows c*R..c*R+R-1
                                        on crop c; C = 1: one crop, broadcast; manifest captioner.crossGrouped)
                                        -> logits [B,V], present_key_<i>, present_value_<i> [B,H,P+1,D]

Requirements (not installed by npm; Python 3.9+ with):
  torch (>= 1.13), onnx, numpy, segment-anything, open_clip (>= 2.13, which has CoCa), and for --verify either the
  Python onnxruntime or Node with this repository's onnxruntime-node (used when `import onnxruntime` fails).
  Versions run (see TESTED below and the README's "Real models"): Debian 12's python3-torch 1.13.1 and
  python3-onnx 1.12.0, open_clip 2.13.0 (the Pseudo-RIS authors' fork, third_party/open_clip), segment-anything
  at dca509f, onnxruntime-node 1.30.0. Other versions are checked at start: older ones are refused, newer ones warned.

Examples:
  python scripts/export_models.py --out resources/models/sam-vit-h-coca-cc3m \\
      --sam-checkpoint sam_vit_h_4b8939.pth --sam-type vit_h \\
      --coca-checkpoint laion_cc3m/checkpoints/epoch_1.pt \\
      --clip-model RN50 --clip-pretrained openai     # builds RN50-quickgelu: OpenAI's weights need QuickGELU
  python scripts/export_models.py --out /tmp/random-b --random-init --sam-type vit_b   # no checkpoint, no download
  python scripts/export_models.py --dry-run-manifest   # print the manifest it would write; needs no torch

Then: npx pseudo-ris models validate <out>
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import inspect
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from contextlib import contextmanager, nullcontext
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, NamedTuple, Optional, Tuple

sys.dont_write_bytecode = True  # no scripts/__pycache__ beside the repository's files for the sibling module
sys.path.insert(0, str(Path(__file__).resolve().parent))
from export_precision import PRECISION_ROLES, convert_pack_graphs, missing_tool, precision_of  # noqa: E402

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
# The optional fast graphs (issue 15): listed in the manifest when present in the pack.
FAST_FILES = {
    "segmenter.decoderBatched": "sam_decoder_batched.onnx",
    "captioner.cross": "coca_cross.onnx",
    "captioner.decoderWithPast": "coca_decoder_with_past.onnx",
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

# What this script was run with end to end (random-init export + --verify + `models validate`), and the oldest
# versions it accepts: open_clip gained CoCa in 2.13; torch 1.13 is the oldest with the exporter features used.
TESTED = {"torch": "1.13.1", "onnx": "1.12.0", "open_clip": "2.13.0"}
MINIMUM = {"torch": (1, 13), "onnx": (1, 12), "open_clip": (2, 13)}


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


def build_manifest(pack: Path, name: str, description: str, logit_scale: float = 100.0, dry_run: bool = False,
                   fast_graphs: bool = True) -> Dict[str, Any]:
    """The manifest.json object, valid against src/engine/runtime/manifest.ts (ManifestSchema).

    The fast graphs (FAST_FILES) are listed when the pack holds them (in a dry run: unless fast_graphs is False)."""
    entry = lambda role: file_entry(pack, FILES[role], dry_run=dry_run)  # noqa: E731
    special = {"sot": SOT, "eot": EOT, "pad": PAD}
    crop = {"size": 224, "mean": OPENAI_MEAN, "std": OPENAI_STD}
    segmenter: Dict[str, Any] = {
        "kind": "sam",
        "encoder": entry("segmenter.encoder"),
        "decoder": entry("segmenter.decoder"),
    }
    captioner: Dict[str, Any] = {
        "kind": "coca",
        "visual": entry("captioner.visual"),
        "text": entry("captioner.text"),
        "decoder": entry("captioner.decoder"),
    }
    for role, file in FAST_FILES.items():
        present = fast_graphs if dry_run else (pack / file).exists()
        if present:
            group, key = role.split(".")
            (segmenter if group == "segmenter" else captioner)[key] = file_entry(pack, file, dry_run=dry_run)
    if "decoderWithPast" in captioner:  # this exporter's decoder takes grouped crops (export_coca_cached)
        captioner["crossGrouped"] = True
    segmenter.update({"preprocess": {"longestSide": 1024, "mean": SAM_MEAN, "std": SAM_STD}, "maskThreshold": 0.0})
    captioner.update({
        "tokenizer": TOKENIZER_FILE,
        "specialTokens": special,
        "vocabSize": VOCAB_SIZE,
        "preprocess": crop,
    })
    return {
        "format": "pseudo-ris-model-pack",
        "version": 1,
        "name": name,
        "description": description,
        "demo": False,
        "segmenter": segmenter,
        "captioner": captioner,
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


def readable_file_mode() -> int:
    """The mode `open()` gives a new file under the current umask (0644 under the usual 022), as the graphs get."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_json_atomic(path: Path, value: Any) -> None:
    """Writes JSON via a temporary file and rename, so a crash never leaves half a manifest. The file gets the mode
    of an ordinary new file (mkstemp's 0600 would make a pack shared on a lab machine unreadable to others)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(value, f, indent=2, ensure_ascii=False)
            f.write("\n")
            f.flush()
            os.fchmod(f.fileno(), readable_file_mode())
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


# ----------------------------------------------------------------------------------------------------------------
# Versions and model-name choices (torch-free parts are tested by scripts/export_models.test.ts)


def parse_version(text: str) -> Tuple[int, ...]:
    """'1.13.0a0+gitunknown' -> (1, 13, 0): the leading numeric components."""
    parts: List[int] = []
    for piece in text.split("+")[0].split("."):
        match = re.match(r"\d+", piece)
        if not match:
            break
        parts.append(int(match.group()))
        if match.group() != piece:
            break
    return tuple(parts)


def check_version(package: str, version: str) -> Optional[str]:
    """Refuses a version older than MINIMUM (SystemExit); returns a warning for one not in TESTED, else None."""
    minimum = MINIMUM[package]
    if parse_version(version)[: len(minimum)] < minimum:
        raise SystemExit(f"{package} {version} is too old for this script: it needs {package} >= "
                         f"{'.'.join(map(str, minimum))} (run with {package} {TESTED[package]})")
    if parse_version(version)[:2] != parse_version(TESTED[package])[:2]:
        return (f"{package} {version} has not been run with this script (run with {package} {TESTED[package]}); "
                f"--verify checks the export against torch")
    return None


def clip_build_choice(model: str, pretrained: Optional[str]) -> Tuple[str, Optional[str]]:
    """The open_clip model name to build for --clip-model/--clip-pretrained, and a note when it differs.

    OpenAI's CLIP weights were trained with QuickGELU; open_clip >= 3.0 builds a plain name (RN50) with nn.GELU and
    only warns when OpenAI weights are loaded into it, so every DoS score would come from a wrong CLIP. OpenAI weights
    therefore always get the `-quickgelu` model (same weights, same parameter names)."""
    if pretrained is not None and pretrained.lower() == "openai" and not model.endswith("-quickgelu"):
        return f"{model}-quickgelu", (f"--clip-pretrained openai needs QuickGELU: building {model}-quickgelu "
                                      f"instead of {model}")
    return model, None


def refuse_activation_mismatch(model: str, pretrained: Optional[str], uses_quick_gelu: bool) -> None:
    """SystemExit when the built CLIP's activation does not match its weights (OpenAI weights need QuickGELU)."""
    if pretrained is not None and pretrained.lower() == "openai" and not uses_quick_gelu:
        raise SystemExit(f"CLIP {model} was built with nn.GELU but OpenAI's weights need QuickGELU; refusing to "
                         f"export a mis-built scorer (use {model.removesuffix('-quickgelu')}-quickgelu or an "
                         f"open_clip that honours force_quick_gelu)")


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


def check_versions(args) -> None:
    """Prints the versions in use; refuses ones older than MINIMUM, warns about ones not in TESTED."""
    import onnx
    import torch

    found = {"torch": torch.__version__, "onnx": onnx.__version__}
    if "coca" not in args.skip or "clip" not in args.skip:
        import open_clip

        found["open_clip"] = getattr(open_clip, "__version__", None) or __import__(
            "open_clip.version", fromlist=["__version__"]).__version__
    if "sam" not in args.skip:
        import segment_anything

        print(f"[versions] segment_anything from {Path(segment_anything.__file__).parent}", flush=True)
    print("[versions] " + ", ".join(f"{k} {v}" for k, v in found.items()), flush=True)
    for package, version in found.items():
        warning = check_version(package, version)
        if warning:
            print(f"[versions] warning: {warning}", flush=True)


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
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
            warnings.filterwarnings("ignore", category=UserWarning)
            with torch.no_grad():
                torch.onnx.export(module, args, str(tmp), **kwargs)
        finalize_onnx(tmp, path)
    finally:
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


def remove_stale(pack: Path, role: str) -> None:
    """Drops a fast graph left by an earlier export, so the manifest never lists a graph of other weights."""
    for file in (pack / FAST_FILES[role], pack / external_data_name(FAST_FILES[role])):
        if file.exists():
            file.unlink()


def export_sam(args, pack: Path) -> None:
    """SAM image encoder (fixed 1024 input, app-side preprocessing), the official SamOnnxModel decoder, and the same
    decoder with a prompt batch axis (segmenter.decoderBatched)."""
    import torch
    from segment_anything import sam_model_registry
    from segment_anything.utils.onnx import SamOnnxModel

    checkpoint = None if args.random_init else args.sam_checkpoint
    sam = sam_model_registry[args.sam_type](checkpoint=checkpoint).eval()

    class SamEncoder(torch.nn.Module):
        # in: image float32[1,3,1024,1024], already resized (longest side 1024), normalized with SAM mean/std and
        # zero-padded bottom/right by the app (src/engine/image/tensor.ts) -- exactly Sam.preprocess's output.
        def __init__(self, model):
            super().__init__()
            self.image_encoder = model.image_encoder

        def forward(self, image):
            return self.image_encoder(image)  # out: image_embeddings float32[1,256,64,64]

    encoder = SamEncoder(sam).eval()
    print(f"[sam] encoder ({args.sam_type}{', random weights' if args.random_init else ''}) -> "
          f"{FILES['segmenter.encoder']}", flush=True)
    onnx_export(encoder, (torch.randn(1, 3, 1024, 1024),), pack / FILES["segmenter.encoder"],
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

    def dummy(batch: int) -> Dict[str, Any]:
        return {
            "image_embeddings": torch.randn(1, embed_dim, *embed_size, dtype=torch.float),
            "point_coords": torch.randint(low=0, high=1024, size=(batch, 5, 2), dtype=torch.float),
            "point_labels": torch.randint(low=0, high=4, size=(batch, 5), dtype=torch.float),
            "mask_input": torch.randn(1, 1, *mask_input_size, dtype=torch.float),
            "has_mask_input": torch.tensor([1], dtype=torch.float),
            "orig_im_size": torch.tensor([1500, 2250], dtype=torch.float),
        }

    outputs = ["masks", "iou_predictions", "low_res_masks"]
    single = dummy(1)
    with torch.no_grad():
        decoder(**single)
    print(f"[sam] decoder -> {FILES['segmenter.decoder']}", flush=True)
    onnx_export(decoder, tuple(single.values()), pack / FILES["segmenter.decoder"], list(single.keys()), outputs,
                {"point_coords": {1: "num_points"}, "point_labels": {1: "num_points"}}, args.opset)
    if args.fast_graphs:
        # Prompt batch B on point_coords/point_labels; image_embeddings and mask_input stay batch 1 and broadcast
        # (MaskDecoder.predict_masks repeats the image embedding per prompt, as SamPredictor.predict_torch does).
        batched = dummy(2)
        print(f"[sam] batched decoder -> {FAST_FILES['segmenter.decoderBatched']}", flush=True)
        onnx_export(decoder, tuple(batched.values()), pack / FAST_FILES["segmenter.decoderBatched"],
                    list(batched.keys()), outputs,
                    {"point_coords": {0: "B", 1: "num_points"}, "point_labels": {0: "B", 1: "num_points"},
                     "masks": {0: "B", 2: "H", 3: "W"}, "iou_predictions": {0: "B"}, "low_res_masks": {0: "B"}},
                    args.opset)
    else:
        remove_stale(pack, "segmenter.decoderBatched")
    if args.verify:
        verify_sam(encoder, decoder, pack, args.fast_graphs, embed_dim, embed_size)


def load_coca(args):
    import open_clip

    if args.random_init:
        model = open_clip.create_model(args.coca_model, pretrained=None, precision="fp32", device="cpu").eval()
        return randomize_uninitialized(model)
    pretrained = args.coca_checkpoint or args.coca_pretrained
    # A local checkpoint (e.g. Pseudo-RIS's CC3M fine-tune `epoch_1.pt`, a training checkpoint with "state_dict" and
    # "module." prefixes) is accepted by open_clip's loader as the `pretrained` path.
    model = open_clip.create_model(args.coca_model, pretrained=pretrained, precision="fp32", device="cpu")
    return model.eval()


def randomize_uninitialized(model):
    """open_clip 2.13 leaves the multimodal decoder's text_projection as torch.empty (its init_parameters is never
    called): with --random-init that is whatever memory held -- often zeros, which makes every logit 0 and a
    verification vacuous. Gives it open_clip's own init, N(0, width^-0.5), and any non-finite tensor N(0, 0.02)."""
    import torch

    with torch.no_grad():
        proj = model.text_decoder.text_projection
        if isinstance(proj, torch.nn.Parameter):
            torch.nn.init.normal_(proj, std=proj.shape[0] ** -0.5)
        for name, param in model.named_parameters():
            if not torch.isfinite(param).all():
                print(f"[coca] random init: {name} held non-finite values; re-drawn N(0, 0.02)", flush=True)
                torch.nn.init.normal_(param, std=0.02)
    return model


def coca_modules(model, last_only: bool = True):
    """torch modules of captioner.text, captioner.decoder, captioner.cross and captioner.decoderWithPast, written
    over the CoCa's own weights with shapes that trace as dynamic (open_clip 2.13's text tower builds its CLS mask
    with F.pad sizes that the tracer bakes in, so its own forward exports for the traced length only).

    CoCa's text tower is causal and appends its CLS token LAST (tokens never attend to it; open_clip returns the
    token embeddings without ln_final: check_text_tokens_contract), so every graph here drops the CLS. Per position:
    token embedding + positional embedding -> text tower layers (causal self-attention) -> the multimodal decoder's
    layers (causal self-attention; cross-attention to the image tokens with ln_1_kv-normalized keys/values) ->
    ln_final -> text_projection. Keys/values use nn.MultiheadAttention's packed in_proj (rows [q; k; v]), split into
    heads as [B, H, S, D] (head h = features h*D .. (h+1)*D - 1), queries scaled by D^-0.5 as nn.MultiheadAttention."""
    import torch
    import torch.nn.functional as F

    text, decoder = model.text, model.text_decoder

    def split_heads(x, heads: int):  # [B,S,W] -> [B,H,S,D]
        return x.reshape(x.shape[0], x.shape[1], heads, -1).transpose(1, 2)

    def merge_heads(x):  # [B,H,S,D] -> [B,S,W]
        return x.transpose(1, 2).reshape(x.shape[0], x.shape[2], -1)

    def projections(attn):  # packed in_proj of nn.MultiheadAttention -> (w_q, b_q), (w_k, b_k), (w_v, b_v)
        w, b = attn.in_proj_weight, attn.in_proj_bias
        width = w.shape[1]
        return [(w[i * width:(i + 1) * width], b[i * width:(i + 1) * width]) for i in range(3)]

    def attend(q, k, v, causal: bool = False):  # q [B,H,L,D], k/v [B,H,S,D] -> [B,H,L,D]
        scores = (q * (q.shape[-1] ** -0.5)) @ k.transpose(-2, -1)  # [B,H,L,S]
        if causal:  # L == S: position l sees 0..l
            idx = torch.arange(q.shape[2])
            scores = scores.masked_fill(idx.unsqueeze(0) > idx.unsqueeze(1), float("-inf"))
        return torch.softmax(scores, dim=-1) @ v

    def out_proj(block, a):
        return F.linear(merge_heads(a), block.attn.out_proj.weight, block.attn.out_proj.bias)

    def feed_forward(block, x):
        return x + block.ls_2(block.mlp(block.ln_2(x)))

    def self_block(block, x, past_k=None, past_v=None):
        # x [B,L,W]; without past: causal over the L positions; with past [B,H,P,D]: L = 1, sees past + itself.
        # -> x [B,L,W], k/v [B,H,P+L,D]
        heads = block.attn.num_heads
        (wq, bq), (wk, bk), (wv, bv) = projections(block.attn)
        h = block.ln_1(x)
        q, k, v = (split_heads(F.linear(h, w, b), heads) for w, b in ((wq, bq), (wk, bk), (wv, bv)))
        if past_k is not None:
            k, v = torch.cat([past_k, k], dim=2), torch.cat([past_v, v], dim=2)
        x = x + block.ls_1(out_proj(block, attend(q, k, v, causal=past_k is None)))
        return feed_forward(block, x), k, v

    def cross_kv(block, image_embs):  # [B,T,W] -> k, v [B,Hx,T,Dx]
        kv = block.ln_1_kv(image_embs)
        _, (wk, bk), (wv, bv) = projections(block.attn)
        heads = block.attn.num_heads
        return split_heads(F.linear(kv, wk, bk), heads), split_heads(F.linear(kv, wv, bv), heads)

    def cross_block(block, x, k, v):  # x [B,L,W]; k/v [B,Hx,T,Dx], or [1,Hx,T,Dx] broadcast over the B rows
        (wq, bq), _, _ = projections(block.attn)
        q = split_heads(F.linear(block.ln_1(x), wq, bq), block.attn.num_heads)
        x = x + block.ls_1(out_proj(block, attend(q, k, v)))
        return feed_forward(block, x)

    def grouped_cross_block(block, x, k, v):
        # x [B,1,W] with B = C*R rows grouped by crop; k/v [C,Hx,T,Dx] of the C crops. The rows' queries become
        # [C,Hx,R,Dx] so cross-attention is one batched MatMul over the crops ([C,Hx,R,Dx] x [C,Hx,Dx,T]): no row
        # copies its crop's keys/values. C = 1 is the broadcast of cross_block.
        (wq, bq), _, _ = projections(block.attn)
        heads = block.attn.num_heads
        q = F.linear(block.ln_1(x), wq, bq)  # [B,1,W]
        crops = k.shape[0]
        q = q.reshape(crops, -1, heads, q.shape[-1] // heads).transpose(1, 2)  # [C,Hx,R,Dx]
        a = attend(q, k, v).transpose(1, 2)  # [C,R,Hx,Dx]
        a = a.reshape(-1, heads, 1, a.shape[-1])  # [B,Hx,1,Dx]
        x = x + block.ls_1(out_proj(block, a))
        return feed_forward(block, x)

    def project(x):  # text_projection is a Parameter [W,V] in open_clip 2.x (nn.Linear in some versions)
        proj = decoder.text_projection
        return proj(x) if isinstance(proj, torch.nn.Module) else x @ proj

    class Text(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.text = text

        def forward(self, ids):  # int64 [B,L] starting with sot -> token_embs [B,L,W] (no ln_final)
            positions = torch.arange(ids.shape[1])
            x = self.text.token_embedding(ids) + self.text.positional_embedding.index_select(0, positions)
            for block in self.text.transformer.resblocks:
                x, _, _ = self_block(block, x)
            return x

    class Decoder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.decoder = decoder

        def forward(self, image_embs, token_embs):  # [B,T,W], [B,L,W] -> logits [B,V] (last only) or [B,L,V]
            x = token_embs
            for block, cross in zip(self.decoder.resblocks, self.decoder.cross_attn):
                x, _, _ = self_block(block, x)
                x = cross_block(cross, x, *cross_kv(cross, image_embs))
            if last_only:  # slice before ln_final and the vocabulary projection
                return project(self.decoder.ln_final(x[:, -1]))
            return project(self.decoder.ln_final(x))

    class Cross(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = decoder.cross_attn

        def forward(self, image_embs):  # [B,T,W] -> cross_key_j, cross_value_j [B,Hx,T,Dx] per decoder layer
            out = []
            for block in self.blocks:
                out += list(cross_kv(block, image_embs))
            return tuple(out)

    class DecoderWithPast(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.text, self.decoder = text, decoder
            self.k_text, self.m = len(text.transformer.resblocks), len(decoder.resblocks)

        def forward(self, input_ids, position, *caches):
            # input_ids int64 [B,1]; position int64 [1]; caches = K (past_key, past_value) pairs [B,H,P,D], then M
            # (cross_key, cross_value) pairs [C,Hx,T,Dx] of the C crops the B = C*R rows decode on, grouped by crop
            # (grouped_cross_block). Out: logits [B,V], then K (present_key, present_value) pairs [B,H,P+1,D].
            k_total = self.k_text + self.m
            past, cross = caches[: 2 * k_total], caches[2 * k_total:]
            x = self.text.token_embedding(input_ids)  # [B,1,W]
            x = x + self.text.positional_embedding.index_select(0, position).unsqueeze(0)
            present = []
            for i, block in enumerate(self.text.transformer.resblocks):
                x, k, v = self_block(block, x, past[2 * i], past[2 * i + 1])
                present += [k, v]
            for j, (block, cross_attn) in enumerate(zip(self.decoder.resblocks, self.decoder.cross_attn)):
                i = self.k_text + j
                x, k, v = self_block(block, x, past[2 * i], past[2 * i + 1])
                present += [k, v]
                x = grouped_cross_block(cross_attn, x, cross[2 * j], cross[2 * j + 1])
            logits = project(self.decoder.ln_final(x[:, 0]))  # [B,V]
            return (logits, *present)

    return Text().eval(), Decoder().eval(), Cross().eval(), DecoderWithPast().eval()


def cache_layout(model) -> Dict[str, int]:
    """K (causal self-attention layers, text tower first), M (decoder layers), heads and head dims."""
    text_blocks, decoder = model.text.transformer.resblocks, model.text_decoder
    first, cross = text_blocks[0].attn, decoder.cross_attn[0].attn
    return {
        "K": len(text_blocks) + len(decoder.resblocks),
        "M": len(decoder.cross_attn),
        "H": first.num_heads,
        "D": first.embed_dim // first.num_heads,
        "Hx": cross.num_heads,
        "Dx": cross.embed_dim // cross.num_heads,
    }


def check_text_tokens_contract(model) -> None:
    """The graphs assume open_clip's CoCa text tower: CLS appended last and token embeddings returned without
    ln_final. Checks it on this open_clip (a version that changed either would make the graphs silently wrong)."""
    import torch

    if getattr(model.text, "cls_emb", None) is None:
        raise SystemExit("this CoCa's text tower has no CLS embedding; the export assumes open_clip's CoCa "
                         "(embed_cls) text tower")
    text_graph = coca_modules(model)[0]
    ids = torch.randint(1, 49000, (2, 5), dtype=torch.long)
    ids[:, 0] = SOT
    with torch.no_grad():
        tokens, ours = model.text(ids)[1], text_graph(ids)
    if tokens.shape != ours.shape or float((tokens - ours).abs().max()) > 1e-4:
        raise SystemExit("open_clip's CoCa text tower does not return causal, un-normalized token embeddings in this "
                         "version (ln_final applied, or the CLS attended to); this script's CoCa graphs would differ "
                         "from it")


def export_coca(args, pack: Path) -> None:
    """CoCa split into visual / text / decoder graphs (research/contracts.md section 2.4), plus the cached pair."""
    import torch

    model = load_coca(args)
    check_text_tokens_contract(model)
    last_only = not args.decoder_all_positions
    text_graph, decoder_graph, cross, step = coca_modules(model, last_only)

    class Visual(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, image):
            # in: image float32[B,3,224,224] (OpenAI mean/std)
            latent, embs = self.m._encode_image(image)  # latent is L2-normalized inside _encode_image
            return latent, embs  # out: image_latent [B,768], image_embs [B,255,768]

    batch, length = 2, 7
    image = torch.randn(batch, 3, 224, 224)
    text = torch.randint(1, 49000, (batch, length), dtype=torch.long)
    text[:, 0] = SOT
    source = "random weights" if args.random_init else (args.coca_checkpoint or args.coca_pretrained)
    print(f"[coca] visual ({args.coca_model}, {source}) -> {FILES['captioner.visual']}", flush=True)
    onnx_export(Visual(model).eval(), (image,), pack / FILES["captioner.visual"], ["image"],
                ["image_latent", "image_embs"], {"image": {0: "B"}, "image_latent": {0: "B"}, "image_embs": {0: "B"}},
                args.opset)
    print(f"[coca] text -> {FILES['captioner.text']}", flush=True)
    onnx_export(text_graph, (text,), pack / FILES["captioner.text"], ["text"], ["token_embs"],
                {"text": {0: "B", 1: "L"}, "token_embs": {0: "B", 1: "L"}}, args.opset)
    with torch.no_grad():
        _, image_embs = model._encode_image(image)
        token_embs = model.text(text)[1]
    print(f"[coca] decoder ({'last position' if last_only else 'all positions'}) -> {FILES['captioner.decoder']}",
          flush=True)
    out_axes = {0: "B"} if last_only else {0: "B", 1: "L"}
    onnx_export(decoder_graph, (image_embs, token_embs), pack / FILES["captioner.decoder"],
                ["image_embs", "token_embs"], ["logits"],
                {"image_embs": {0: "B"}, "token_embs": {0: "B", 1: "L"}, "logits": out_axes}, args.opset)
    if args.fast_graphs:
        export_coca_cached(model, cross, step, pack, image_embs, args.opset)
    else:
        remove_stale(pack, "captioner.cross")
        remove_stale(pack, "captioner.decoderWithPast")
    if args.verify:
        verify_coca(model, pack, last_only, args.fast_graphs)
    if precision_of(args) and convert_pack_graphs(pack, {**FILES, **FAST_FILES},
                                                  [r for r in PRECISION_ROLES[precision_of(args)]
                                                   if r.startswith("captioner.")], precision_of(args)):
        if args.verify:
            verify_converted(lambda: verify_coca(model, pack, last_only, args.fast_graphs), precision_of(args))


def export_coca_cached(model, cross, step, pack: Path, image_embs, opset: int) -> None:
    """captioner.cross and captioner.decoderWithPast (tensor names: module docstring and scripts/README.md)."""
    import torch

    layout = cache_layout(model)
    k_total, m = layout["K"], layout["M"]
    cross_names = [f"cross_{kind}_{j}" for j in range(m) for kind in ("key", "value")]
    past_names = [f"past_{kind}_{i}" for i in range(k_total) for kind in ("key", "value")]
    present_names = [f"present_{kind}_{i}" for i in range(k_total) for kind in ("key", "value")]
    print(f"[coca] cross-attention keys/values ({m} layers, {layout['Hx']} heads x {layout['Dx']}) -> "
          f"{FAST_FILES['captioner.cross']}", flush=True)
    onnx_export(cross, (image_embs,), pack / FAST_FILES["captioner.cross"], ["image_embs"], cross_names,
                {"image_embs": {0: "B", 1: "T"}, **{n: {0: "B", 2: "T"} for n in cross_names}}, opset)
    # traced with P > 0 so that nothing specializes on an empty past, and with C = 2 crops x R = 2 rows so that
    # neither the crop count nor the rows per crop is baked in
    crops, past_len = 2, 3
    batch = 2 * crops
    with torch.no_grad():
        cross_kv = cross(image_embs[:1].expand(crops, -1, -1))
    past = [torch.randn(batch, layout["H"], past_len, layout["D"]) for _ in past_names]
    input_ids = torch.randint(1, 49000, (batch, 1), dtype=torch.long)
    position = torch.tensor([past_len], dtype=torch.long)
    print(f"[coca] decoder with past ({k_total} self-attention layers, {layout['H']} heads x {layout['D']}) -> "
          f"{FAST_FILES['captioner.decoderWithPast']}", flush=True)
    axes = {"input_ids": {0: "B"}, "logits": {0: "B"}}
    axes.update({n: {0: "B", 2: "P"} for n in past_names})
    axes.update({n: {0: "C", 2: "T"} for n in cross_names})  # C crops, the B = C*R rows grouped by crop
    axes.update({n: {0: "B", 2: "P_next"} for n in present_names})
    onnx_export(step, (input_ids, position, *past, *cross_kv), pack / FAST_FILES["captioner.decoderWithPast"],
                ["input_ids", "position", *past_names, *cross_names], ["logits", *present_names], axes, opset)


def export_clip(args, pack: Path) -> float:
    """CLIP image and text towers with L2-normalized embeddings; returns the model's logit scale (100 for OpenAI)."""
    import open_clip
    import torch
    import torch.nn.functional as F

    name, note = clip_build_choice(args.clip_model, args.clip_pretrained)
    if note:
        print(f"[clip] {note}", flush=True)
    pretrained = None if args.random_init else args.clip_pretrained
    force_quick_gelu = False
    if name not in open_clip.list_models():  # an open_clip without the -quickgelu config of this model
        name, force_quick_gelu = args.clip_model, args.clip_pretrained.lower() == "openai"
    model = open_clip.create_model(name, pretrained=pretrained, precision="fp32", device="cpu",
                                   force_quick_gelu=force_quick_gelu).eval()
    uses_quick_gelu = any(type(m).__name__ == "QuickGELU" for m in model.modules())
    refuse_activation_mismatch(name, args.clip_pretrained, uses_quick_gelu)
    if not args.random_init:
        check_clip_known_pair(model, name, args.clip_pretrained)

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
    source = "random weights" if args.random_init else args.clip_pretrained
    print(f"[clip] image ({name}, {source}{', QuickGELU' if uses_quick_gelu else ''}) -> {FILES['scorer.image']}",
          flush=True)
    onnx_export(Image(model).eval(), (torch.randn(2, 3, 224, 224),), pack / FILES["scorer.image"], ["image"],
                ["embedding"], {"image": {0: "B"}, "embedding": {0: "B"}}, args.opset)
    print(f"[clip] text -> {FILES['scorer.text']}", flush=True)
    onnx_export(Text(model).eval(), (text,), pack / FILES["scorer.text"], ["text"], ["embedding"],
                {"text": {0: "B"}, "embedding": {0: "B"}}, args.opset)
    if args.verify:
        verify_clip(model, pack)
    if precision_of(args) and convert_pack_graphs(pack, FILES, [r for r in PRECISION_ROLES[precision_of(args)]
                                                                if r.startswith("scorer.")], precision_of(args)):
        if args.verify:
            verify_converted(lambda: verify_clip(model, pack), precision_of(args))
    return float(model.logit_scale.exp().item())


def check_clip_known_pair(model, name: str, pretrained: str) -> None:
    """With real weights: solid red, green and blue images must each score highest with their own colour's text.
    A CLIP built with the wrong activation or wrong weights fails this (a zero-shot classic every CLIP passes)."""
    import open_clip
    import torch
    import torch.nn.functional as F

    colours = {"red": (1.0, 0.0, 0.0), "green": (0.0, 1.0, 0.0), "blue": (0.0, 0.0, 1.0)}
    mean, std = torch.tensor(OPENAI_MEAN).view(3, 1, 1), torch.tensor(OPENAI_STD).view(3, 1, 1)
    images = torch.stack([(torch.tensor(rgb).view(3, 1, 1).expand(3, 224, 224) - mean) / std
                          for rgb in colours.values()])
    texts = open_clip.tokenize([f"a photo of the color {c}." for c in colours])
    with torch.no_grad():
        similarity = F.normalize(model.encode_image(images), dim=-1) @ F.normalize(model.encode_text(texts), dim=-1).T
    best = similarity.argmax(dim=1).tolist()
    print(f"[clip] known pairs (solid red/green/blue vs their colour names): best text per image {best}", flush=True)
    if best != [0, 1, 2]:
        raise SystemExit(f"CLIP {name} ({pretrained}) fails a known image-text check (solid colours matched to "
                         f"{best}, expected [0, 1, 2]): wrong weights or wrong activation; refusing to export it")


# ----------------------------------------------------------------------------------------------------------------
# Verification: onnxruntime against torch on shapes other than the traced ones (catches baked-in dynamic dims).
# onnxruntime is the Python package when importable, else this repository's onnxruntime-node through NODE_RUNNER
# (Debian packages torch and onnx but not onnxruntime).


class Ref(NamedTuple):
    """An input fed from an earlier call's output (call index, output name)."""

    call: int
    output: str


NODE_RUNNER = r"""
import { createRequire } from 'node:module';
import { readFileSync, writeFileSync } from 'node:fs';
const [specPath, repoRoot] = process.argv.slice(-2);
const ort = createRequire(repoRoot + '/package.json')('onnxruntime-node');
const spec = JSON.parse(readFileSync(specPath, 'utf8'));
const sessions = {};
for (const [key, file] of Object.entries(spec.sessions))
  sessions[key] = await ort.InferenceSession.create(file, { executionProviders: ['cpu'] });
const results = [];
const saved = [];
for (const [index, call] of spec.calls.entries()) {
  const feeds = {};
  for (const [name, value] of Object.entries(call.inputs)) {
    if ('call' in value) { feeds[name] = results[value.call][value.output]; continue; }
    const bytes = readFileSync(value.file);
    const copy = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    const data = value.type === 'int64' ? new BigInt64Array(copy) : new Float32Array(copy);
    feeds[name] = new ort.Tensor(value.type, data, value.dims);
  }
  const out = await sessions[call.session].run(feeds);
  results.push(call.keep ? out : {});
  for (const name of call.save) {
    const t = out[name];
    const file = `${spec.outDir}/${index}_${name}.bin`;
    writeFileSync(file, Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    saved.push({ call: index, name, file, dims: t.dims, type: t.type });
  }
}
writeFileSync(`${spec.outDir}/results.json`, JSON.stringify(saved));
"""


class OrtCalls:
    """A list of onnxruntime calls over named sessions, run together; inputs are numpy arrays or Refs."""

    def __init__(self, sessions: Dict[str, Path]):
        self.sessions = sessions
        self.calls: List[Dict[str, Any]] = []

    def call(self, session: str, inputs: Dict[str, Any], save: List[str]) -> int:
        self.calls.append({"session": session, "inputs": inputs, "save": save})
        for value in inputs.values():
            if isinstance(value, Ref):
                self.calls[value.call]["keep"] = True
        return len(self.calls) - 1

    def run(self) -> Dict[Tuple[int, str], Any]:
        try:
            import onnxruntime  # noqa: F401
        except ImportError:
            return self._run_node()
        return self._run_python()

    def _run_python(self) -> Dict[Tuple[int, str], Any]:
        import onnxruntime as ort

        sessions = {k: ort.InferenceSession(str(p), providers=["CPUExecutionProvider"])
                    for k, p in self.sessions.items()}
        results: List[Dict[str, Any]] = []
        saved: Dict[Tuple[int, str], Any] = {}
        for index, call in enumerate(self.calls):
            session = sessions[call["session"]]
            feeds = {n: results[v.call][v.output] if isinstance(v, Ref) else v for n, v in call["inputs"].items()}
            names = [o.name for o in session.get_outputs()]
            out = dict(zip(names, session.run(None, feeds)))
            results.append(out)
            for name in call["save"]:
                saved[(index, name)] = out[name]
        return saved

    def _run_node(self) -> Dict[Tuple[int, str], Any]:
        import numpy as np

        node = shutil.which("node")
        repo = Path(__file__).resolve().parent.parent
        if node is None or not (repo / "node_modules" / "onnxruntime-node").exists():
            raise SystemExit("--verify needs onnxruntime: `pip install onnxruntime`, or Node with this repository's "
                             "node_modules (npm install) for onnxruntime-node; or pass --no-verify")
        work = Path(tempfile.mkdtemp(prefix="pseudo-ris-verify-"))
        try:
            calls = []
            for index, call in enumerate(self.calls):
                inputs = {}
                for name, value in call["inputs"].items():
                    if isinstance(value, Ref):
                        inputs[name] = {"call": value.call, "output": value.output}
                        continue
                    array = np.ascontiguousarray(value)
                    kind = "int64" if array.dtype == np.int64 else "float32"
                    file = work / f"in_{index}_{name}.bin"
                    array.astype(np.int64 if kind == "int64" else np.float32).tofile(file)
                    inputs[name] = {"file": str(file), "type": kind, "dims": list(array.shape)}
                calls.append({"session": call["session"], "inputs": inputs, "save": call["save"],
                              "keep": call.get("keep", False)})
            spec = {"sessions": {k: str(p.resolve()) for k, p in self.sessions.items()}, "calls": calls,
                    "outDir": str(work)}
            (work / "spec.json").write_text(json.dumps(spec))
            run = subprocess.run([node, "--input-type=module", "-e", NODE_RUNNER, "--", str(work / "spec.json"),
                                  str(repo)], capture_output=True, text=True)
            if run.returncode != 0:
                raise SystemExit(f"onnxruntime-node failed:\n{run.stderr[-4000:]}")
            saved = {}
            for item in json.loads((work / "results.json").read_text()):
                dtype = np.int64 if item["type"] == "int64" else np.float32
                saved[(item["call"], item["name"])] = np.fromfile(item["file"], dtype=dtype).reshape(item["dims"])
            return saved
        finally:
            shutil.rmtree(work, ignore_errors=True)


VERIFY_FIGURES: List[Tuple[str, float, float]] = []
# True while the converted (fp16 / int8) graphs are checked: figures printed against torch float32, never failed on
REPORT_ONLY: List[bool] = [False]


def verify_converted(check, precision: str) -> None:
    """Runs a model's float32 checks again on its converted graphs, printing the figures without failing on them
    (no tolerance for fp16 / int8 has been measured; the agreement bench measures what they change)."""
    print(f"[verify] {precision} graphs against torch float32 (figures only: tolerances are the float32 ones, a "
          f"MISMATCH here does not fail the export)", flush=True)
    REPORT_ONLY[0] = True
    try:
        check()
    except Exception as error:  # e.g. a CPU provider without float16 kernels for an operator
        print(f"[verify] {precision} graphs could not run here: {error}", flush=True)
    finally:
        REPORT_ONLY[0] = False


def report(label: str, reference, ort_out, tolerance: float) -> None:
    """Checks one output against its reference (max absolute difference) and records the figure."""
    import numpy as np

    expected = reference.detach().numpy() if hasattr(reference, "detach") else np.asarray(reference)
    if expected.shape != ort_out.shape:
        raise SystemExit(f"verification failed for {label}: shape {list(ort_out.shape)}, expected "
                         f"{list(expected.shape)}")
    report_diff(label, float(np.max(np.abs(expected - ort_out))) if expected.size else 0.0, tolerance)


def report_diff(label: str, diff: float, tolerance: float) -> None:
    status = "ok" if diff <= tolerance else "MISMATCH"
    VERIFY_FIGURES.append((label, diff, tolerance))
    print(f"[verify] {label}: max |reference - onnxruntime| = {diff:.2e} ({status}, tolerance {tolerance})",
          flush=True)
    if diff > tolerance and not REPORT_ONLY[0]:
        raise SystemExit(f"verification failed for {label}")


def verify_sam(encoder, decoder, pack: Path, fast_graphs: bool, embed_dim: int, embed_size) -> None:
    """Encoder, decoder (N = 3 points, another image size than traced) and batched decoder (B = 3) against torch;
    each row of the batched decoder also against the batch-1 graph on that row's prompt."""
    import numpy as np
    import torch

    torch.manual_seed(1)
    image = torch.randn(1, 3, 1024, 1024)
    with torch.no_grad():
        embeddings = encoder(image)

    def prompt(batch: int, points: int, has_mask: float) -> Dict[str, torch.Tensor]:
        return {
            "image_embeddings": embeddings,
            "point_coords": torch.rand(batch, points, 2) * 1024,
            "point_labels": torch.randint(low=-1, high=4, size=(batch, points)).float(),
            "mask_input": torch.randn(1, 1, 4 * embed_size[0], 4 * embed_size[1]),
            "has_mask_input": torch.tensor([has_mask]),
            "orig_im_size": torch.tensor([600.0, 900.0]),
        }

    single, batched = prompt(1, 3, 1.0), prompt(3, 2, 0.0)
    sessions = {"encoder": pack / FILES["segmenter.encoder"], "decoder": pack / FILES["segmenter.decoder"]}
    if fast_graphs:
        sessions["batched"] = pack / FAST_FILES["segmenter.decoderBatched"]
    calls = OrtCalls(sessions)
    outputs = ["masks", "iou_predictions", "low_res_masks"]
    encoded = calls.call("encoder", {"image": image.numpy()}, ["image_embeddings"])
    one = calls.call("decoder", {k: v.numpy() for k, v in single.items()}, outputs)
    rows: List[int] = []
    many = -1
    if fast_graphs:
        many = calls.call("batched", {k: v.numpy() for k, v in batched.items()}, outputs)
        for b in range(3):
            row = {k: (v[b:b + 1] if k in ("point_coords", "point_labels") else v) for k, v in batched.items()}
            rows.append(calls.call("decoder", {k: v.numpy() for k, v in row.items()}, outputs))
    got = calls.run()
    report("segmenter.encoder image_embeddings", embeddings, got[(encoded, "image_embeddings")], 1e-3)
    with torch.no_grad():
        expected = decoder(**single)
    for name, value in zip(outputs, expected):
        report(f"segmenter.decoder {name} (N=3, 600x900)", value, got[(one, name)], 1e-3)
    if fast_graphs:
        with torch.no_grad():
            expected = decoder(**batched)
        for name, value in zip(outputs, expected):
            report(f"segmenter.decoderBatched {name} (B=3, N=2)", value, got[(many, name)], 1e-3)
            stacked = np.concatenate([got[(r, name)] for r in rows])
            report(f"segmenter.decoderBatched {name} vs batch-1 graph row by row", stacked, got[(many, name)], 1e-4)


def verify_coca(model, pack: Path, last_only: bool, fast_graphs: bool) -> None:
    """Full-prefix graphs against torch at B = 3, L = 12; with fast graphs, per crop c of the three, the cached chain
    of the three texts on crop c (its cross keys/values [1,Hx,T,Dx] broadcast over the rows, as the engine feeds them):
    logits after each of t = 1..12 steps against the full-prefix torch logits (text tower + decoder on the first t
    tokens, crop c's image tokens)."""
    import numpy as np
    import torch

    torch.manual_seed(2)
    batch, steps = 3, 12
    image = torch.randn(batch, 3, 224, 224)
    text = torch.randint(1, 49000, (batch, steps), dtype=torch.long)
    text[:, 0] = SOT
    with torch.no_grad():
        latent, embs = model._encode_image(image)
        tokens = model.text(text)[1]
        logits = model.text_decoder(embs, tokens)
        prefix_tokens = [model.text(text[:, :t])[1] for t in range(1, steps + 1)]
        prefix_logits = [model.text_decoder(embs, tokens_t)[:, -1] for tokens_t in prefix_tokens]
        # [crop][t]: the three texts on crop c alone (its image tokens repeated over the rows)
        crop_logits = [[model.text_decoder(embs[c:c + 1].expand(batch, -1, -1), tokens_t)[:, -1]
                        for tokens_t in prefix_tokens] for c in range(batch)] if fast_graphs else []
    if float(prefix_logits[0].abs().max()) == 0.0:
        raise SystemExit("the CoCa's logits are all zero (an uninitialized text_projection?): nothing to verify")
    sessions = {"visual": pack / FILES["captioner.visual"], "text": pack / FILES["captioner.text"],
                "decoder": pack / FILES["captioner.decoder"]}
    if fast_graphs:
        sessions.update({"cross": pack / FAST_FILES["captioner.cross"],
                         "step": pack / FAST_FILES["captioner.decoderWithPast"]})
    calls = OrtCalls(sessions)
    visual = calls.call("visual", {"image": image.numpy()}, ["image_latent", "image_embs"])
    text_call = calls.call("text", {"text": text.numpy()}, ["token_embs"])
    decoder_call = calls.call("decoder", {"image_embs": embs.numpy(), "token_embs": tokens.numpy()}, ["logits"])
    step_calls: List[List[int]] = []  # [crop][t]
    cross_calls: List[int] = []  # [crop]
    grouped_chain: List[int] = []  # [t]
    if fast_graphs:
        layout = cache_layout(model)
        k_total, m = layout["K"], layout["M"]
        cross_names = [f"cross_{kind}_{j}" for j in range(m) for kind in ("key", "value")]
        cross_all = calls.call("cross", {"image_embs": embs.numpy()}, cross_names[:1])
        empty = np.zeros((batch, layout["H"], 0, layout["D"]), dtype=np.float32)
        for c in range(batch):
            cross_call = calls.call("cross", {"image_embs": embs[c:c + 1].numpy()}, cross_names[:1])
            cross_calls.append(cross_call)
            chain: List[int] = []
            for t in range(steps):
                inputs: Dict[str, Any] = {"input_ids": text[:, t:t + 1].numpy(), "position": np.array([t], np.int64)}
                for i in range(k_total):
                    for kind in ("key", "value"):
                        inputs[f"past_{kind}_{i}"] = empty if t == 0 else Ref(chain[-1], f"present_{kind}_{i}")
                inputs.update({n: Ref(cross_call, n) for n in cross_names})
                chain.append(calls.call("step", inputs, ["logits"] + (["present_key_0"] if t == steps - 1 else [])))
            step_calls.append(chain)
        # The three crops' chains grouped in one run per step, as the engine feeds a crossGrouped decoder: cross
        # over all crops [3,Hx,T,Dx], rows crop-major (rows 3c..3c+2: the three texts on crop c).
        rows = np.tile(text.numpy(), (batch, 1))
        empty_grouped = np.zeros((batch * batch, layout["H"], 0, layout["D"]), dtype=np.float32)
        for t in range(steps):
            inputs = {"input_ids": rows[:, t:t + 1], "position": np.array([t], np.int64)}
            for i in range(k_total):
                for kind in ("key", "value"):
                    inputs[f"past_{kind}_{i}"] = (empty_grouped if t == 0
                                                  else Ref(grouped_chain[-1], f"present_{kind}_{i}"))
            inputs.update({n: Ref(cross_all, n) for n in cross_names})
            grouped_chain.append(calls.call("step", inputs, ["logits"]))
    got = calls.run()
    report("captioner.visual image_latent (B=3)", latent, got[(visual, "image_latent")], 1e-3)
    report("captioner.visual image_embs (B=3)", embs, got[(visual, "image_embs")], 1e-3)
    report("captioner.text token_embs (B=3, L=12)", tokens, got[(text_call, "token_embs")], 1e-3)
    report("captioner.decoder logits (B=3, L=12)", logits[:, -1] if last_only else logits,
           got[(decoder_call, "logits")], 1e-2)
    if not fast_graphs:
        return
    # The cross graph over three crops at once gives each crop's rows as it does alone.
    _, _, cross, step = coca_modules(model)
    key0 = got[(cross_all, cross_names[0])]
    for c in range(batch):
        report(f"captioner.cross {cross_names[0]} of crop {c}: batch of 3 vs alone", key0[c:c + 1],
               got[(cross_calls[c], cross_names[0])], 1e-4)
    # The same chains in torch (checks the cached modules themselves), then onnxruntime's chains.
    with torch.no_grad():
        torch_worst = 0.0
        for c in range(batch):
            cross_kv = cross(embs[c:c + 1])
            past = [torch.from_numpy(empty)] * (2 * cache_layout(model)["K"])
            for t in range(steps):
                out = step(text[:, t:t + 1], torch.tensor([t]), *past, *cross_kv)
                past = list(out[1:])
                torch_worst = max(torch_worst, float((out[0] - crop_logits[c][t]).abs().max()))
    report_diff("captioner.decoderWithPast in torch vs full prefix (3 crops x B=3, t=1..12, worst step)",
                torch_worst, 1e-4)
    diffs = [[float(np.max(np.abs(crop_logits[c][t].numpy() - got[(call, "logits")])))
              for t, call in enumerate(chain)] for c, chain in enumerate(step_calls)]
    for t in range(steps):
        print(f"[verify]   step t={t + 1}: max |full prefix - with past| over the 3 crops = "
              f"{max(d[t] for d in diffs):.2e}", flush=True)
    report_diff("captioner.decoderWithPast logits vs full-prefix logits (3 crops x B=3, t=1..12, worst step)",
                max(max(d) for d in diffs), 1e-4)
    grouped = [got[(call, "logits")].reshape(batch, batch, -1) for call in grouped_chain]  # [t][crop, row, V]
    report_diff("captioner.decoderWithPast grouped (3 crops x 3 rows in one run) vs full prefix (t=1..12, worst step)",
                max(float(np.max(np.abs(crop_logits[c][t].numpy() - grouped[t][c])))
                    for c in range(batch) for t in range(steps)), 1e-4)
    report_diff("captioner.decoderWithPast grouped vs one run per crop (t=1..12, worst step)",
                max(float(np.max(np.abs(got[(step_calls[c][t], "logits")] - grouped[t][c])))
                    for c in range(batch) for t in range(steps)), 1e-4)
    present = got[(step_calls[-1][-1], "present_key_0")]
    expected_shape = (batch, cache_layout(model)["H"], steps, cache_layout(model)["D"])
    if tuple(present.shape) != expected_shape:
        raise SystemExit(f"present_key_0 after {steps} steps has shape {list(present.shape)}, expected "
                         f"{list(expected_shape)}")


def verify_clip(model, pack: Path) -> None:
    import torch
    import torch.nn.functional as F

    torch.manual_seed(3)
    image = torch.randn(3, 3, 224, 224)
    text = torch.zeros(3, CONTEXT_LENGTH, dtype=torch.long)
    text[:, 0], text[:, 1], text[:, 2], text[:, 3] = SOT, 320, 1929, EOT
    with torch.no_grad():
        image_embedding = F.normalize(model.encode_image(image), dim=-1)
        text_embedding = F.normalize(model.encode_text(text), dim=-1)
    calls = OrtCalls({"image": pack / FILES["scorer.image"], "text": pack / FILES["scorer.text"]})
    i = calls.call("image", {"image": image.numpy()}, ["embedding"])
    t = calls.call("text", {"text": text.numpy()}, ["embedding"])
    got = calls.run()
    report("scorer.image embedding (B=3)", image_embedding, got[(i, "embedding")], 1e-4)
    report("scorer.text embedding (B=3)", text_embedding, got[(t, "embedding")], 1e-4)


# ----------------------------------------------------------------------------------------------------------------


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="See the module docstring (head of this file) for the graph contracts.")
    parser.add_argument("--out", type=Path, help="pack folder to write (created if missing)")
    parser.add_argument("--name", help="pack name (default: the --out folder name)")
    parser.add_argument("--description", default=None, help="free text shown in `models list`")
    parser.add_argument("--random-init", action="store_true",
                        help="build every architecture with random weights (no checkpoint, no download): checks the "
                             "export end to end; the pack is useless for captions")
    parser.add_argument("--sam-checkpoint", help="segment-anything checkpoint, e.g. sam_vit_h_4b8939.pth")
    parser.add_argument("--sam-type", choices=["vit_h", "vit_l", "vit_b"], default="vit_h")
    parser.add_argument("--gelu-approximate", action="store_true", help="tanh GELU in the SAM decoder (faster Erf-free)")
    parser.add_argument("--coca-model", default="coca_ViT-L-14")
    coca = parser.add_mutually_exclusive_group()
    coca.add_argument("--coca-pretrained", default="mscoco_finetuned_laion2b_s13b_b90k",
                      help="open_clip pretrained tag (default mscoco_finetuned_laion2b_s13b_b90k)")
    coca.add_argument("--coca-checkpoint", help="local open_clip checkpoint, e.g. Pseudo-RIS laion_cc3m/.../epoch_1.pt")
    parser.add_argument("--clip-model", default="RN50",
                        help="open_clip model; with --clip-pretrained openai the -quickgelu variant is built")
    parser.add_argument("--clip-pretrained", default="openai")
    parser.add_argument("--bpe-vocab", type=Path, help="bpe_simple_vocab_16e6.txt.gz (default: the one open_clip ships)")
    parser.add_argument("--decoder-all-positions", action="store_true",
                        help="CoCa decoder returns logits for every position [B,L,V] instead of the last [B,V]")
    parser.add_argument("--no-fast-graphs", dest="fast_graphs", action="store_false",
                        help="leave out the cached CoCa decoder (captioner.cross, captioner.decoderWithPast) and the "
                             "batched SAM decoder (segmenter.decoderBatched)")
    precision = parser.add_mutually_exclusive_group()
    precision.add_argument("--fp16", action="store_true",
                           help="convert CoCa and CLIP to float16 after the float32 export and --verify (GPU packs; "
                                "needs onnxconverter-common; scripts/export_precision.py)")
    precision.add_argument("--quantize", choices=["int8"],
                           help="int8 dynamic quantization of CoCa's text and decoder graphs after the float32 "
                                "export and --verify (CPU packs; needs the Python onnxruntime)")
    parser.add_argument("--opset", type=int, default=17)
    parser.add_argument("--skip", action="append", choices=["sam", "coca", "clip"], default=[],
                        help="reuse this model's graphs already in --out instead of exporting them (repeatable)")
    parser.add_argument("--no-verify", dest="verify", action="store_false",
                        help="skip the onnxruntime-vs-torch check of every exported graph")
    parser.add_argument("--dry-run-manifest", action="store_true",
                        help="print the manifest this script writes (placeholder checksums) and exit; needs no torch")
    args = parser.parse_args(argv)
    if not args.dry_run_manifest:
        if args.out is None:
            parser.error("--out is required")
        if "sam" not in args.skip and not args.sam_checkpoint and not args.random_init:
            parser.error("--sam-checkpoint is required (or --random-init, or --skip sam to reuse the graphs in --out)")
        if args.random_init and args.sam_checkpoint:
            parser.error("--random-init builds random weights: drop --sam-checkpoint")
        if args.random_init and args.coca_checkpoint:
            parser.error("--random-init builds random weights: drop --coca-checkpoint")
        precision = precision_of(args)
        if precision and missing_tool(precision):
            parser.error(missing_tool(precision))
    return args


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    pack = args.out if args.out is not None else Path("pack")
    name = args.name or pack.resolve().name
    coca_source = args.coca_checkpoint or args.coca_pretrained
    clip_name, _ = clip_build_choice(args.clip_model, args.clip_pretrained)
    if args.random_init:
        description = (f"SAM {args.sam_type} + CoCa {args.coca_model} + CLIP {clip_name} with RANDOM weights "
                       f"(--random-init: checks the export, not usable for captions), exported by "
                       f"scripts/export_models.py")
    else:
        description = (f"SAM {args.sam_type} + CoCa {args.coca_model} ({Path(coca_source).name}) + CLIP {clip_name} "
                       f"({args.clip_pretrained}), exported by scripts/export_models.py")
    if precision_of(args):  # weights converted after the float32 export: say so in `models list`
        description += f" ({precision_of(args)}: scripts/export_precision.py)"
    description = args.description or description
    if args.dry_run_manifest:
        print(json.dumps(build_manifest(pack, name, description, dry_run=True, fast_graphs=args.fast_graphs),
                         indent=2))
        return 0

    pack.mkdir(parents=True, exist_ok=True)
    if len(set(args.skip)) < 3:
        check_versions(args)
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
    if VERIFY_FIGURES:
        worst = max(VERIFY_FIGURES, key=lambda f: f[1] / f[2])
        print(f"[verify] {len(VERIFY_FIGURES)} checks passed; closest to its tolerance: {worst[0]} "
              f"({worst[1]:.2e} of {worst[2]})", flush=True)
    print(f"Wrote {pack / 'manifest.json'}. Check it with: npx pseudo-ris models validate {pack}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
