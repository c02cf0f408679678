"""Reduced precision (bf16) for renders, where the processor runs it natively.

    from gan_explorer.core.backends import precision

    precision.native_bf16()                    # (True, 'avx512_bf16') or (False, 'why not')
    chosen, note = precision.resolve_precision("bf16", "cpu")   # ('fp32', 'bf16 is not native ...')
    with precision.precision_context(chosen, "cpu"):
        image = model.synthesize(ws)           # convolutions and matmuls in bf16, reductions in fp32

A CPU without AVX512-BF16 or AMX emulates bf16 with fp32 instructions plus conversions: slower
than fp32 (measured on an AVX2 EPYC: 3.9x slower at 64 px), so there the request falls back to
fp32 and the note says why. The error of a bf16 frame against fp32 is measured by
`benchmarks/bench_precision.py` (max and mean 8-bit difference, PSNR); a full frame stays fp32
unless the user asks for bf16 (Device menu, `generate --precision bf16`).
"""

from __future__ import annotations

import contextlib
import functools

import torch

PRECISIONS = ("fp32", "bf16")
NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16")  # /proc/cpuinfo flags of a native bf16 dot product


def cpu_flags(cpuinfo: str = "/proc/cpuinfo") -> set[str]:
    """The first processor's feature flags (empty where the file is not there: not Linux)."""
    try:
        with open(cpuinfo, encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.partition(":")[2].split())
    except OSError:
        pass
    return set()


@functools.lru_cache(maxsize=1)
def native_bf16() -> tuple[bool, str]:
    """(whether this CPU computes bf16 natively, the flag that says so or why not)."""
    found = [flag for flag in NATIVE_BF16_FLAGS if flag in cpu_flags()]
    if found:
        return True, found[0]
    capability = str(torch.backends.cpu.get_cpu_capability())
    if "AMX" in capability.upper():  # no cpuinfo (another OS), but torch dispatches AMX kernels
        return True, capability
    return False, f"this CPU has no AVX512-BF16 or AMX (torch dispatches {capability})"


def resolve_precision(requested: str, device="cpu") -> tuple[str, str]:
    """(the precision a render on `device` will use, a note: '' or why bf16 fell back to fp32)."""
    if requested not in PRECISIONS:
        from gan_explorer.core.errors import ConfigError

        raise ConfigError(f"precision {requested!r}: must be one of {', '.join(PRECISIONS)}")
    if requested == "fp32":
        return "fp32", ""
    kind = torch.device(device).type
    if kind == "cuda":
        if torch.cuda.is_bf16_supported():
            return "bf16", ""
        return "fp32", "bf16 is not supported by this GPU: rendering in fp32"
    if kind != "cpu":
        return "fp32", f"bf16 is not used on {kind}: rendering in fp32"
    native, why = native_bf16()
    if native:
        return "bf16", ""
    return "fp32", f"bf16 is not native here ({why}): rendering in fp32, which is faster on this CPU"


def precision_context(precision: str, device_type: str = "cpu"):
    """Autocast to bf16 (convolutions, matmuls) for 'bf16'; nothing for 'fp32'."""
    if precision == "bf16":
        return torch.autocast(device_type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def image_error(image: torch.Tensor, reference: torch.Tensor) -> dict:
    """How far `image` is from `reference` (both in [-1, 1]) as 8-bit pictures: the max and mean
    absolute difference in 8-bit levels (after NVIDIA's x * 127.5 + 128 conversion), and the PSNR
    (dB, peak-to-peak 2) of the unquantised values clamped to [-1, 1]."""
    def levels(x):
        return (x.detach().float() * 127.5 + 128).clamp(0, 255).floor()

    diff = (levels(image) - levels(reference)).abs()
    # Of the pictures' values: clamped to [-1, 1] as the 8-bit conversion clamps them.
    mse = float(((image.detach().float().clamp(-1, 1) - reference.detach().float().clamp(-1, 1)) ** 2).mean())
    psnr = float("inf") if mse == 0 else float(10 * torch.log10(torch.tensor(4.0 / mse)))
    return {"max_levels": float(diff.max()), "mean_levels": float(diff.mean()), "psnr_db": psnr}
