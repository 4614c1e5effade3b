"""Is a checkpoint file whole? Answered without torch where the format allows.

The command-line tools check every checkpoint a user names before the model stack
is imported, and ``--resume`` skips damaged files; both use this module, which
imports torch only for pre-1.6 (non-zip) files.
"""
import glob
import os.path as osp
import re
import sys
import zipfile
import zlib
from typing import Optional


def checkpoint_problem(path: str) -> Optional[str]:
    """What is wrong with the checkpoint file ``path``, or None when it is whole.

    Zip checkpoints (what torch has written since 1.6) are checked without
    unpickling anything: a truncated file has no central directory (it is written
    last) and a damaged one fails a member's CRC. Other files (older torch
    formats) are loaded with ``torch.load(weights_only=True)`` to find out.
    """
    if not osp.exists(path):
        return 'file not found'
    if not osp.isfile(path):
        return 'not a file'
    size = osp.getsize(path)
    if size == 0:
        return 'empty file (0 bytes): the copy or save never wrote it'
    with open(path, 'rb') as f:
        head = f.read(4)
    if head == b'PK\x03\x04':
        try:
            with zipfile.ZipFile(path) as archive:
                damaged = archive.testzip()
        except (zipfile.BadZipFile, EOFError, OSError, zlib.error) as exc:
            return f'truncated or corrupt ({size} bytes; zip archive unreadable: {exc})'
        if damaged is not None:
            return f'corrupt: the data of {damaged!r} fails its checksum'
        return None
    if path.endswith('.safetensors'):
        return _safetensors_problem(path, size)
    if head[:1] != b'\x80':  # torch < 1.6 files are pickles, which start with PROTO (0x80)
        return f'not a PyTorch checkpoint ({size} bytes, neither a zip archive nor a pickle)'
    return _legacy_problem(path, size)


def damaged_checkpoint(path: str) -> Optional[str]:
    """``'cannot load checkpoint PATH: <what is wrong>'`` for a damaged file, else None:
    the one line every tool and loader reports (a missing file is left to the caller)."""
    problem = checkpoint_problem(path) if osp.exists(path) else None
    return f'cannot load checkpoint {path}: {problem}' if problem else None


# how torch.load(weights_only=True) names a global it will not rebuild (torch 2.6+)
_REFUSED_GLOBAL = re.compile(r'(?:Unsupported global: GLOBAL|unsupported GLOBAL) (\S+?)(?:\s|$)')


def refused_global_problem(name: str) -> str:
    return (f'it pickles {name}, which torch.load(weights_only=True) refuses, so the file was '
            'not loaded and nothing in it ran; if you trust it, re-save its state dict '
            '(tensors only)')


def unloadable_checkpoint(path: str, exc: BaseException) -> Optional[str]:
    """The one line for a checkpoint that ``torch.load(weights_only=True)`` raised ``exc``
    on: the global the file pickles and torch refused (a file that would run code, e.g. a
    ``__reduce__`` calling ``os.system``), the damage of a damaged file, or None when
    neither explains ``exc``."""
    refused = _REFUSED_GLOBAL.search(str(exc))
    if refused:
        return f'cannot load checkpoint {path}: {refused_global_problem(refused.group(1))}'
    if type(exc).__name__ == 'UnpicklingError':  # another weights_only refusal
        reason = [line for line in str(exc).splitlines() if line.strip()]
        reason = next((line for line in reason[1:] if not line.startswith('Check the doc')),
                      reason[0] if reason else type(exc).__name__)
        return (f'cannot load checkpoint {path}: torch.load(weights_only=True) refused it '
                f'({reason.strip()[:200]}), so it was not loaded and nothing in it ran')
    return damaged_checkpoint(path)


def _safetensors_problem(path: str, size: int) -> Optional[str]:
    import json
    with open(path, 'rb') as f:
        header_len = int.from_bytes(f.read(8), 'little')
        if header_len <= 0 or 8 + header_len > size:
            return f'truncated or not a safetensors file ({size} bytes)'
        try:
            header = json.loads(f.read(header_len))
        except ValueError:
            return 'corrupt safetensors header'
    ends = [v['data_offsets'][1] for k, v in header.items() if k != '__metadata__']
    if 8 + header_len + max(ends, default=0) > size:
        return f'truncated ({size} bytes; the header describes more data)'
    return None


def _legacy_problem(path: str, size: int) -> Optional[str]:
    import torch

    from hrnet_tasks.safe_globals import allow_checkpoint_types
    allow_checkpoint_types()
    try:
        torch.load(path, map_location='cpu', weights_only=True)
    except Exception as exc:  # torch raises many types for a bad file
        refused = _REFUSED_GLOBAL.search(str(exc))
        if refused:
            return refused_global_problem(refused.group(1))
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ''
        return (f'not a PyTorch checkpoint, or a truncated/corrupt one ({size} bytes; '
                f'{type(exc).__name__}: {first_line[:120]})')
    return None


def find_latest_checkpoint(work_dir: str, warn=None) -> Optional[str]:
    """Newest checkpoint in ``work_dir`` that loads: ``epoch_N.pth`` / ``iter_N.pth``
    by decreasing N (after the ``last_checkpoint`` pointer's file when that is not
    one of them). A damaged file (a copy interrupted, a full disk) is skipped with a
    warning naming it."""
    warn = warn or (lambda text: print(f'warning: {text}', file=sys.stderr, flush=True))
    numbered = []
    for path in glob.glob(osp.join(work_dir, '*.pth')):
        m = re.fullmatch(r'(epoch|iter)_(\d+)\.pth', osp.basename(path))
        if m:
            numbered.append((int(m.group(2)), path))
    candidates = [path for _, path in sorted(numbered, reverse=True)]
    pointer = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(pointer):
        with open(pointer) as f:
            pointed = f.read().strip()
        # mmengine's pointer names a file outside this pattern or folder only when the
        # run saved elsewhere; a numbered file here is ranked by its number like the rest
        if osp.isfile(pointed) and not any(osp.samefile(p, pointed) for p in candidates):
            candidates.insert(0, pointed)
    for path in candidates:
        problem = checkpoint_problem(path)
        if problem is None:
            return path
        warn(f'skipping checkpoint {path}: {problem}')
    return None
