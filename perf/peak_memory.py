"""A command's own peak memory (resident set high-water mark), however big the process that measures it.

Why not `os.wait4(child).ru_maxrss` on a child started from the benchmark: Linux's ru_maxrss is
the largest RSS of every address space the process has had, and exec counts the one it throws
away (fs/exec.c, exec_mmap: `setmax_mm_hiwater_rss(&tsk->signal->maxrss, old_mm)`). A child
made by vfork or posix_spawn (what `subprocess` uses) shares its parent's address space until
exec, so its ru_maxrss starts at the parent's own high-water mark; one made by fork starts at the
parent's RSS at the fork. Measured here: a parent that had touched 500 MB saw a 200 MB child
report 511 MB (vfork and posix_spawn) or, holding 300 MB at the fork, 308 MB.

Why not sample /proc/PID/status VmHWM: it is the process's own mark (exec gives it a fresh
address space), but it vanishes with the process, so a sampler misses what happens after its
last read, and sampling often costs CPU the command shares.

So a launcher: a fresh interpreter that imports nothing (`-I -S`, ~9 MB) starts the command with
posix_spawn and reads ru_maxrss from wait4. The kernel tracks the command's peak itself, short
spikes included; all the command inherits is the launcher's size, returned as `floor_bytes`
(a peak equal to it means "at most this"). Children the command waits for count as a maximum,
not a sum.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

# Runs as `python -I -S -c LAUNCHER FD COMMAND...`; writes "exit seconds maxrss_kib floor_kib" to FD,
# or "! why" when the command could not be started.
LAUNCHER = """
import os, sys, time
report = int(sys.argv[1])
os.set_inheritable(report, False)
start = time.perf_counter()
try:
    pid = os.posix_spawnp(sys.argv[2], sys.argv[2:], os.environ)
except OSError as error:
    os.write(report, f'! {error}'.encode())
    sys.exit(127)
_, status, usage = os.wait4(pid, 0)
seconds = time.perf_counter() - start
with open('/proc/self/status') as fh:
    floor = next(int(line.split()[1]) for line in fh if line.startswith('VmHWM:'))
os.write(report, f'{os.waitstatus_to_exitcode(status)} {seconds!r} {usage.ru_maxrss} {floor}'.encode())
"""

Stream = int | IO | None  # as subprocess.Popen takes it: None (inherit), DEVNULL, a file


@dataclass(frozen=True)
class Measured:
    exit_code: int
    seconds: float      # wall time of the command alone, from spawn to exit (not the launcher's start-up)
    peak_bytes: int     # the command's resident-set high-water mark
    floor_bytes: int    # the launcher's own peak, the least `peak_bytes` can be

    @property
    def peak_mib(self) -> float:
        return self.peak_bytes / 2**20


def run_measured(command: Sequence[str | Path], *, stdout: Stream = None, stderr: Stream = None,
                 env: Mapping[str, str] | None = None, cwd: str | Path | None = None) -> Measured:
    """Run `command` (looked up on PATH like a shell would) to its end; its exit status, time and own peak RSS."""
    read, write = os.pipe()
    try:
        launcher = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", LAUNCHER, str(write), *map(str, command)], pass_fds=(write,),
            stdout=stdout, stderr=stderr, env=None if env is None else dict(env), cwd=cwd,
        )  # fmt: skip
    finally:
        os.close(write)
    with os.fdopen(read) as fh:
        report = fh.read()
    launcher.wait()
    if not report or report.startswith("!"):
        raise RuntimeError(f"could not start {command[0]}: {report[2:] or f'launcher exit {launcher.returncode}'}")
    code, seconds, peak_kib, floor_kib = report.split()
    return Measured(int(code), float(seconds), int(peak_kib) * 1024, int(floor_kib) * 1024)


def run_python(code: str, *args: str, env: Mapping[str, str] | None = None,
               cwd: str | Path | None = None) -> tuple[Measured, str]:
    """`python -c code args` in a fresh interpreter (with `env` added to this environment): its
    measurement and its stdout. A failing child ends the benchmark with its stderr."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        done = run_measured([sys.executable, "-c", code, *args], stdout=out, stderr=err, cwd=cwd,
                            env={**os.environ, **(env or {})})
        out.seek(0)
        err.seek(0)
        if done.exit_code != 0:
            sys.exit(f"child failed ({done.exit_code}):\n{err.read()}")
        return done, out.read()
