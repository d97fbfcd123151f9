"""What a run's figures depend on besides its inputs, options and seed; recorded in metrics.json.

The same seed repeats a run exactly only with the same software, kernels and threads: PyTorch's
and oneDNN's CPU kernels are chosen by instruction set (AVX2, AVX-512, AMX), the thread count
splits their sums, and each choice rounds floats its own way. Training amplifies those last bits:
in the README's demo, seed 0 with AVX2 kernels or with one thread instead of two moves the image
models' test accuracy by 2 to 4 points. torch.use_deterministic_algorithms does not help on CPU
(the kernels are already repeatable for a given ISA and thread count; it changes no bit of them).
So a figure that disagrees with another is read against this record first.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

# The instruction-set extensions the CPU kernels choose between (torch.cpu.get_capabilities() keys).
KERNEL_ISA = ("avx2", "avx512_f", "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16", "amx_fp16")


@dataclass(frozen=True)
class Environment:
    torch: str
    device: str
    cpu: str
    cpu_capability: str            # the ISA of PyTorch's own CPU kernels (ATEN_CPU_CAPABILITY can lower it)
    cpu_isa: tuple[str, ...]       # what oneDNN/MKL may use besides
    cpu_cache_bytes: dict[str, int]
    threads: int                   # torch's intra-op threads (OMP_NUM_THREADS, torch.set_num_threads)
    deterministic_algorithms: bool
    cuda: str | None               # CUDA, cuDNN and the GPU, on a CUDA device
    cudnn: int | None
    gpu: str | None


def capture_environment(device: torch.device) -> dict:
    """The run's software, processor and threading, as metrics.json stores it."""
    caps = torch.cpu.get_capabilities()
    cuda = device.type == "cuda"
    return asdict(Environment(
        torch=torch.__version__,
        device=str(device),
        cpu=str(caps.get("cpu_name", "unknown")),
        cpu_capability=torch.backends.cpu.get_cpu_capability(),
        cpu_isa=tuple(name for name in KERNEL_ISA if caps.get(name)),
        cpu_cache_bytes={name: int(caps[name]) for name in ("l1d_cache_size", "l2_cache_size") if name in caps},
        threads=torch.get_num_threads(),
        deterministic_algorithms=torch.are_deterministic_algorithms_enabled(),
        cuda=torch.version.cuda if cuda else None,
        cudnn=torch.backends.cudnn.version() if cuda else None,
        gpu=torch.cuda.get_device_name(device) if cuda else None,
    ))
