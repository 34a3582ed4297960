"""Freed large CPU tensors are reused by the next allocation instead of being faulted in again (glibc only)."""

import json
import os
import platform
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
    reason="the allocator settings exist in glibc only",
)

_PROBE = """
import ctypes, json, os, resource, sys
import torch
from colormnet.engines.host_memory import keep_freed_memory
applied = keep_freed_memory() if sys.argv[1] == "keep" else False
libc = ctypes.CDLL(None)
wide = hasattr(libc, "mallinfo2")  # glibc 2.33+; mallinfo's int fields hold the few hundred MB measured here
class MallInfo(ctypes.Structure):  # malloc.h
    _fields_ = [(name, ctypes.c_size_t if wide else ctypes.c_int) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]
mallinfo = libc.mallinfo2 if wide else libc.mallinfo
mallinfo.restype = MallInfo
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
mapped = []  # bytes malloc served by mmap while a frame's blocks were alive, beyond what was mapped before
def frame():  # a frame's worth of large blocks, allocated, written and freed
    before = mallinfo().hblkhd
    x = torch.empty(64 << 18).fill_(1.0)  # 64 MB: over glibc's largest mmap threshold
    y = torch.empty(32 << 18).fill_(1.0)
    mapped.append(mallinfo().hblkhd - before)
    del x, y
def run():
    global counted
    for _ in range(8):  # the heap settles (an aligned block does not fit the gap its twin left at first)
        frame()
    del mapped[:]
    before = faults()
    for _ in range(5):
        frame()
    counted = faults() - before
if sys.argv[2] == "thread":  # as the app's engine runs: in a worker thread started after the setting
    import threading
    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
else:
    run()
print(json.dumps({"applied": applied, "faults": counted, "mapped": max(mapped)}))
"""


def _probe(mode: str, where: str = "main", **env: str) -> dict:
    command = [sys.executable, "-c", _PROBE, mode, where]
    out = subprocess.run(command, capture_output=True, text=True, check=True, env={**_base_env(), **env})
    return json.loads(out.stdout.strip().splitlines()[-1])


def _base_env() -> dict:
    return {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_") and k != "COLORMNET_HOST_MEMORY"}


# The blocks' own page faults: 5 frames x 96 MB of fresh 4 KB pages is about 120 000. The kernel can add faults of
# its own to any process (automatic NUMA balancing, for one, samples memory by unmapping it; one CI run counted 32 768
# where a quiet machine counts none), so a count is compared with the system allocator's, and the mechanism is read
# from malloc's own figures.
_FRESH_PAGES = 5 * (96 << 20) // 4096


def test_freed_blocks_are_reused_without_page_faults():
    kept = _probe("keep")
    assert kept["applied"] is True
    assert kept["mapped"] == 0  # the blocks come from the heap, whose freed memory stays in the process

    system = _probe("system")  # the default allocator maps each block afresh and faults it in again
    assert system["mapped"] >= 96 << 20
    assert system["faults"] > _FRESH_PAGES * 0.8
    assert kept["faults"] < system["faults"] / 2, (kept, system)


def test_a_worker_thread_started_afterwards_reuses_them_too():
    system = _probe("system", "thread")
    assert system["mapped"] >= 96 << 20
    assert system["faults"] > _FRESH_PAGES * 0.8
    kept = _probe("keep", "thread")
    assert kept["mapped"] == 0  # not a thread arena, whose heaps cannot hold a 64 MB block
    assert kept["faults"] < system["faults"] / 2, (kept, system)


def test_the_environment_leaves_the_allocator_alone():
    out = _probe("keep", COLORMNET_HOST_MEMORY="system")
    assert out["applied"] is False
    assert out["mapped"] >= 96 << 20
    assert out["faults"] > _FRESH_PAGES * 0.8


def test_a_cpu_model_load_applies_it(random_weights, monkeypatch):
    from colormnet.engines import host_memory
    from colormnet.engines.colormnet.backend import load_model

    calls = []
    monkeypatch.setattr(host_memory, "_applied", None)
    monkeypatch.setattr(host_memory, "_apply", lambda: calls.append(1) or True)
    load_model(random_weights, device="cpu")
    load_model(random_weights, device="cpu")
    assert host_memory._applied is True
    assert calls == [1]  # once per process
