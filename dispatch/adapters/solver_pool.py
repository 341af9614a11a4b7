"""Runs ``routing.solve`` in a worker process, off the event loop, with a deadline.

The deadline is the solver's time limit plus ``grace_s`` (model building is not
part of the limit and grows with the problem). It counts from a started worker:
starting one (an interpreter importing OR-Tools, seconds on a busy host) is done
first, outside any deadline. One worker (``max_workers=1``: the machines have
two cores and the API needs one). The worker is started with the ``spawn``
method so it inherits no threads or sockets (psycopg pools, MQTT) from the
parent. A solve that misses its deadline raises :class:`SolverTimedOut` and the
worker is replaced, so a stuck solve never blocks the next plan.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor

from dispatch.errors import SolverTimedOut
from routing import RoutingProblem, RoutingSolution, SolverParams, solve

log = logging.getLogger(__name__)

__all__ = ["SolverPool"]


def _warm_up() -> bool:
    import routing.ortools_backend  # noqa: F401 - import OR-Tools once in the worker

    return True


class SolverPool:
    """A one-process pool for solves; use as an (async) context manager or close()."""

    def __init__(self, *, grace_s: float = 10.0) -> None:
        self.grace_s = grace_s
        self._executor = self._new_executor()
        self._warm = False

    @staticmethod
    def _new_executor() -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=1, mp_context=multiprocessing.get_context("spawn")
        )

    async def warm_up(self) -> None:
        """Start the worker and import the solver (so the first plan is not slow)."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, _warm_up)
        self._warm = True

    async def solve(
        self,
        problem: RoutingProblem,
        params: SolverParams,
        initial: RoutingSolution | None = None,
    ) -> RoutingSolution:
        """Solve in the worker; ``SolverTimedOut`` after time limit + grace (counted
        once the worker is up: it is started first if need be)."""
        if not self._warm:
            await self.warm_up()
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._executor, solve, problem, params, initial)
        try:
            return await asyncio.wait_for(future, params.time_limit_s + self.grace_s)
        except TimeoutError as exc:
            log.error("solver missed its deadline; replacing the worker")
            self._replace_worker()
            raise SolverTimedOut("the solver missed its deadline") from exc

    def _replace_worker(self) -> None:
        old = self._executor
        self._executor = self._new_executor()
        self._warm = False
        for process in list(getattr(old, "_processes", {}).values()):
            process.terminate()
        old.shutdown(wait=False, cancel_futures=True)

    @property
    def worker_pids(self) -> list[int]:
        """Process ids of the running worker(s) (none before the first use)."""
        processes = getattr(self._executor, "_processes", None) or {}
        return [p.pid for p in list(processes.values()) if p.pid is not None]

    def close(self, timeout_s: float = 10.0) -> None:
        """Stop the worker: queued solves are cancelled, a running one gets
        ``timeout_s`` to finish, then the process is terminated (and killed), so
        closing never leaves a worker behind nor waits on a stuck solve."""
        executor = self._executor
        processes = list((getattr(executor, "_processes", None) or {}).values())
        executor.shutdown(wait=False, cancel_futures=True)
        deadline = time.monotonic() + timeout_s
        for process in processes:
            process.join(max(0.0, deadline - time.monotonic()))
        for process in processes:
            if process.is_alive():
                log.warning("solver worker did not stop; terminating it")
                process.terminate()
                process.join(5)
            if process.is_alive():
                process.kill()
                process.join(5)
