"""metrics.json's environment record says what the run's figures depend on, as torch really runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import torch

from aesthetic.benchmark.environment import capture_environment


def test_the_record_follows_threads_and_the_deterministic_setting() -> None:
    threads, deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    try:
        torch.set_num_threads(1)
        torch.use_deterministic_algorithms(True)
        one = capture_environment(torch.device("cpu"))
        torch.set_num_threads(2)
        torch.use_deterministic_algorithms(False)
        two = capture_environment(torch.device("cpu"))
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(deterministic)
    assert (one["threads"], one["deterministic_algorithms"]) == (1, True)
    assert (two["threads"], two["deterministic_algorithms"]) == (2, False)
    assert one["torch"] == torch.__version__ and one["device"] == "cpu"
    assert one["cuda"] is None and one["gpu"] is None
    assert json.loads(json.dumps(one)) == {**one, "cpu_isa": list(one["cpu_isa"])}


def test_the_kernel_isa_is_the_one_in_use_not_the_processors_best() -> None:
    # ATEN_CPU_CAPABILITY lowers the ISA of PyTorch's kernels on any processor; the record must show it.
    code = ("import json, torch; from aesthetic.benchmark.environment import capture_environment; "
            "print(json.dumps(capture_environment(torch.device('cpu'))))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True,
                          env={**os.environ, "ATEN_CPU_CAPABILITY": "default", "OMP_NUM_THREADS": "1"})
    record = json.loads(done.stdout)
    assert record["cpu_capability"] == "DEFAULT"
    assert record["threads"] == 1
