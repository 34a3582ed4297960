"""Keeps freed host memory in the process for the next frame instead of handing it back to the system.

A frame at 960x536 allocates and frees a few GB of large CPU tensors (72 MB for 512 channels at 1/4 of the padded
size). glibc's ``malloc`` serves every block over 32 MB with its own ``mmap`` and gives it back with ``munmap`` on
free, so the next frame's block of the same size arrives as fresh pages that the kernel must fault in and zero: about
a million page faults and 2-3 s of system time per frame on two cores, a fifth of the frame. With ``mmap`` off for
``malloc`` and the heap not trimmed, freed blocks are reused at once; the peak resident memory grows by about 10 %
(the heap holds what a frame's peak needed).

Threads matter: glibc gives a thread its own arena, whose heaps cannot grow past 64 MB and fall back to ``mmap`` for
larger blocks whatever the settings, so all threads are kept on the main heap; a thread that already has an arena
keeps it, which is why the app applies this before Qt starts its threads. Applied once per process (the app's start,
and any torch engine built for the CPU); ``COLORMNET_HOST_MEMORY=system`` leaves the allocator as it is. Only glibc
has these settings; elsewhere nothing changes.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform
import threading

__all__ = ["keep_freed_memory"]

_M_TRIM_THRESHOLD = -1  # malloc.h: bytes of free memory at the top of the heap before it is given back
_M_MMAP_MAX = -4  # malloc.h: how many blocks may be served by mmap at once (0: none)
_M_ARENA_MAX = -8  # malloc.h: how many arenas threads may use (1: the main heap only)
_TRIM_NEVER = 2**31 - 1  # the largest value mallopt takes (an int)

_lock = threading.Lock()
_applied: bool | None = None


def keep_freed_memory() -> bool:
    """Switches glibc's ``malloc`` to reuse freed large blocks (once per process); ``True`` when in effect."""
    global _applied
    with _lock:
        if _applied is None:
            _applied = _apply()
        return _applied


def _apply() -> bool:
    if os.environ.get("COLORMNET_HOST_MEMORY", "").strip().lower() == "system":
        return False
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    settings = ((_M_ARENA_MAX, 1), (_M_MMAP_MAX, 0), (_M_TRIM_THRESHOLD, _TRIM_NEVER))
    return all(mallopt(option, value) for option, value in settings)
