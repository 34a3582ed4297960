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
import json, os, resource, sys
import torch
from colormnet.engines.host_memory import keep_freed_memory
applied = keep_freed_memory() if sys.argv[1] == "keep" else False
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
def frame():  # a frame's worth of large blocks, allocated, written and freed
    x = torch.empty(64 << 18).fill_(1.0)  # 64 MB: over glibc's largest mmap threshold
    y = torch.empty(32 << 18).fill_(1.0)
    del x, y
def run():
    global counted
    for _ in range(8):  # the heap settles (an aligned block does not fit the gap its twin left at first)
        frame()
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
print(json.dumps({"applied": applied, "faults": counted}))
"""


def _probe(mode: str, where: str = "main", **env: str) -> dict:
    command = [sys.executable, "-c", _PROBE, mode, where]
    out = subprocess.run(command, capture_output=True, text=True, check=True, env={**_base_env(), **env})
    return json.loads(out.stdout.strip().splitlines()[-1])


def _base_env() -> dict:
    return {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_") and k != "COLORMNET_HOST_MEMORY"}


def test_freed_blocks_are_reused_without_page_faults():
    kept = _probe("keep")
    assert kept["applied"] is True
    assert kept["faults"] < 500  # 5 x 96 MB of fresh pages would be ~120 000 faults of 4 KB

    system = _probe("system")  # the default allocator faults every 64 MB block in again: the test can fail
    assert system["faults"] > 20_000


def test_a_worker_thread_started_afterwards_reuses_them_too():
    system = _probe("system", "thread")["faults"]
    assert system > 100_000  # 5 x 96 MB faulted in again
    assert _probe("keep", "thread")["faults"] < system / 10


def test_the_environment_leaves_the_allocator_alone():
    out = _probe("keep", COLORMNET_HOST_MEMORY="system")
    assert out["applied"] is False
    assert out["faults"] > 20_000


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
