"""What this machine can do fast: native bf16 on the CPU or not, and whether torch.compile runs.

bf16 autocast on a CPU without avx512_bf16 or AMX runs through oneDNN's emulation
and is slower than fp32 (measured on a 2-core Xeon without avx512_bf16, HRNet-W32
inference at 224: bf16 + channels_last 1.64 img/s against 4.42 img/s for fp32 +
channels_last + BN fold). Every place that applies bf16 on the CPU (``--amp`` of
tools/train.py and tools/test.py, the inference API, the benchmark) asks
:func:`native_bf16` and warns with :func:`bf16_warning`.
"""
import functools
import os
import platform
import shutil
import warnings
from typing import Optional, Tuple

# Instruction sets that execute bf16 matrix work natively, in the order we name them.
NATIVE_BF16_FLAGS = ('amx_bf16', 'avx512_bf16')


def _cpuinfo_flags() -> Optional[set]:
    """The ``flags`` of /proc/cpuinfo (Linux x86), or None where there is no such file."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('flags'):
                    return set(line.split(':', 1)[1].split())
    except OSError:
        return None
    return set()


@functools.lru_cache(maxsize=None)
def bf16_instruction_sets() -> Tuple[str, ...]:
    """The native bf16 instruction sets this CPU has (empty tuple: bf16 is emulated)."""
    flags = _cpuinfo_flags()
    if flags is not None:
        return tuple(f for f in NATIVE_BF16_FLAGS if f in flags)
    # No /proc/cpuinfo (macOS, Windows): torch's own probes of the x86 feature bits.
    import torch
    found = []
    probe_amx = getattr(torch.cpu, '_is_amx_tile_supported', None)
    probe_avx = getattr(torch.cpu, '_is_avx512_bf16_supported', None)
    if probe_amx is not None and probe_amx():
        found.append('amx_bf16')
    if probe_avx is not None and probe_avx():
        found.append('avx512_bf16')
    return tuple(found)


def native_bf16() -> bool:
    """True when bf16 autocast on this CPU runs on native instructions."""
    return bool(bf16_instruction_sets())


def describe_cpu() -> str:
    """One phrase for benchmark headers, e.g. ``x86_64, native bf16 (amx_bf16, avx512_bf16)``."""
    import torch
    isa = bf16_instruction_sets()
    bf16 = f'native bf16 ({", ".join(isa)})' if isa else 'no native bf16 (emulated)'
    vector = torch.backends.cpu.get_cpu_capability()
    return f'{platform.machine()}, {vector}, {bf16}'


def bf16_warning(where: str) -> Optional[str]:
    """The one-line warning for bf16 requested on a CPU without native bf16, else None."""
    if native_bf16():
        return None
    return (f'{where}: this CPU has neither {" nor ".join(NATIVE_BF16_FLAGS)}, so bf16 is '
            'emulated and slower than fp32; fp32 with channels_last is faster here')


def warn_if_emulated_bf16(where: str) -> bool:
    """Warn (UserWarning, one line) when bf16 on this CPU is emulated; True if it warned."""
    message = bf16_warning(where)
    if message:
        warnings.warn(message, stacklevel=2)
    return message is not None


def compile_problem(device: str = 'cpu') -> Optional[str]:
    """Why ``torch.compile`` (inductor) cannot run here for ``device``, or None when it can.

    Checked before a run starts, so ``--compile`` falls back to eager with one warning
    instead of failing at the first iteration: dynamo must support this Python, the
    CPU backend needs a C++ compiler and the CUDA backend needs Triton.
    """
    import torch
    dynamo = getattr(torch, '_dynamo', None)
    if dynamo is None or not dynamo.is_dynamo_supported():
        return f'torch.compile does not support Python {platform.python_version()} here'
    if str(device).startswith('cuda'):
        from torch.utils._triton import has_triton
        return None if has_triton() else 'Triton is not installed (needed for CUDA kernels)'
    compilers = [os.environ.get('CXX'), 'g++', 'c++', 'clang++']
    if not any(c and shutil.which(c) for c in compilers):
        return 'no C++ compiler (g++, c++, clang++ or $CXX) for the CPU backend'
    return None


def compile_or_warn(where: str, device: str = 'cpu') -> bool:
    """True when torch.compile can run; otherwise warn (one line) and return False."""
    problem = compile_problem(device)
    if problem:
        warnings.warn(f'{where}: {problem}; running eager (uncompiled)', stacklevel=2)
    return problem is None
