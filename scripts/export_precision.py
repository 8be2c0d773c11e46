"""Lower-precision packs for scripts/export_models.py (issue 21 section 4): --fp16 and --quantize int8.

Both convert graphs the exporter has just written and verified in float32, in place, with float32 inputs and outputs
kept, so the engine feeds and reads a converted pack exactly as a float32 one:

  --fp16           CoCa (visual, text, decoder, cross, decoder with past) and CLIP (image, text) converted to float16
                   weights and activations (onnxconverter-common's convert_float_to_float16, keep_io_types). For GPU
                   packs: the released code runs CoCa under fp16 autocast and CLIP in fp16 on CUDA. SAM stays float32.
                   onnxruntime's CPU provider lacks float16 kernels for many operators, so a CPU may refuse the graphs.
  --quantize int8  CoCa's text, decoder, cross and decoder-with-past graphs through onnxruntime's dynamic quantization
                   (weights int8, activations quantized per run; quantize_dynamic, QInt8). For CPU packs.

What they cost in agreement is measured, not assumed: `npm run bench -- agreement --models INT8 --against FP32`.
Neither converter is packaged by Debian: `pip install onnxconverter-common` / `pip install onnxruntime`.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Dict, List, Optional

PRECISION_ROLES: Dict[str, List[str]] = {
    "fp16": ["captioner.visual", "captioner.text", "captioner.decoder", "captioner.cross",
             "captioner.decoderWithPast", "scorer.image", "scorer.text"],
    "int8": ["captioner.text", "captioner.decoder", "captioner.cross", "captioner.decoderWithPast"],
}


def precision_of(args) -> Optional[str]:
    """'fp16', 'int8' or None from the parsed arguments."""
    return "fp16" if getattr(args, "fp16", False) else getattr(args, "quantize", None)


def missing_tool(precision: str) -> Optional[str]:
    """Why this Python cannot convert to `precision` (None when it can)."""
    try:
        if precision == "fp16":
            from onnxconverter_common import float16  # noqa: F401
        else:
            from onnxruntime.quantization import quantize_dynamic  # noqa: F401
    except ImportError as error:
        package = "onnxconverter-common" if precision == "fp16" else "onnxruntime"
        return (f"--{'fp16' if precision == 'fp16' else 'quantize int8'} needs the Python package {package} "
                f"(pip install {package}; Debian does not package it): {error}")
    return None


def convert_pack_graphs(pack: Path, files: Dict[str, str], roles: List[str], precision: str) -> List[str]:
    """Converts the graphs of `roles` that exist in `pack` (role -> file in `files`) in place; returns the files."""
    done = []
    for role in roles:
        path = pack / files[role]
        if not path.exists():
            continue
        before = path.stat().st_size
        temporary = path.with_name(path.name + ".tmp")
        if precision == "fp16":
            import onnx
            from onnxconverter_common import float16

            model = float16.convert_float_to_float16(onnx.load(str(path)), keep_io_types=True)
            onnx.save(model, str(temporary))
        else:
            from onnxruntime.quantization import QuantType, quantize_dynamic

            quantize_dynamic(str(path), str(temporary), weight_type=QuantType.QInt8)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
        print(f"[{precision}] {role} {path.name}: {before / 2**20:.1f} MiB -> {path.stat().st_size / 2**20:.1f} MiB",
              flush=True)
        done.append(path.name)
    return done
