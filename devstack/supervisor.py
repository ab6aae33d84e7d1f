"""A small process supervisor: start children, prefix their output, stop them all together.

Any child exiting stops the whole run with a message naming it; SIGINT/SIGTERM stop every child
(SIGTERM, then SIGKILL after a grace period), so nothing is left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Sequence

from devstack.processes import ProcessSpec

_COLOURS = ["36", "32", "33", "35", "34", "31", "96", "92", "93"]
GRACE_S = 8.0


class Supervisor:
    def __init__(self, specs: Sequence[ProcessSpec], env: dict[str, str]) -> None:
        self.specs = list(specs)
        self.env = env
        self.procs: dict[str, asyncio.subprocess.Process] = {}
        self._width = max(len(s.name) for s in specs)
        self._tty = sys.stdout.isatty()
        self._stopping = False

    def _prefix(self, i: int, name: str) -> str:
        label = name.ljust(self._width)
        return f"\x1b[{_COLOURS[i % len(_COLOURS)]}m{label} |\x1b[0m " if self._tty else f"{label} | "

    async def _pump(self, i: int, spec: ProcessSpec, stream: asyncio.StreamReader) -> None:
        prefix = self._prefix(i, spec.name)
        while line := await stream.readline():
            sys.stdout.write(prefix + line.decode(errors="replace"))
            sys.stdout.flush()

    async def start(self) -> None:
        for spec in self.specs:
            proc = await asyncio.create_subprocess_exec(
                *spec.argv,
                env={**self.env, **spec.env},
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=False,
            )
            self.procs[spec.name] = proc

    async def run(self) -> int:
        """Run until a child exits or we are told to stop. Returns the exit status for the run."""
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await self.start()
        pumps = [
            asyncio.create_task(self._pump(i, spec, self.procs[spec.name].stdout))  # type: ignore[arg-type]
            for i, spec in enumerate(self.specs)
        ]
        waits = {asyncio.create_task(p.wait()): name for name, p in self.procs.items()}
        stop_task = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait([*waits, stop_task], return_when=asyncio.FIRST_COMPLETED)
        status = 0
        for task in done:
            if task in waits:
                name = waits[task]
                code = task.result()
                print(f"[supervisor] {name} exited with code {code}; stopping everything", flush=True)
                status = 1
        if stop_task in done:
            print("[supervisor] stopping (signal received)", flush=True)
        await self.stop()
        await asyncio.gather(*pumps, return_exceptions=True)
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        return status

    async def stop(self) -> None:
        alive = [p for p in self.procs.values() if p.returncode is None]
        for p in alive:
            with contextlib.suppress(ProcessLookupError):
                p.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(asyncio.gather(*(p.wait() for p in alive)), GRACE_S)
        except TimeoutError:
            for name, p in self.procs.items():
                if p.returncode is None:
                    print(f"[supervisor] {name} did not stop in {GRACE_S:.0f}s; killing it", flush=True)
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(p.pid, signal.SIGKILL)
            await asyncio.gather(*(p.wait() for p in alive))
