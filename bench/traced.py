"""The app served in this process, with a trace of every request that asks for one.

A request carrying the `X-Bench-Trace` header gets a `Trace`: when the WSGI app
was entered and returned (the ack), when its lazy listeners finished, and what
each part spent waiting on the network and which calls it made (`outbound`).
Everything else about the app is as `python -m bot serve` builds it.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from bench import outbound
from bench.loopback import TRACE_HEADER
from bot.settings import load_settings
from handlers.bootstrap import build
from handlers.server import make

_WSGI_KEY = "HTTP_" + TRACE_HEADER.upper().replace("-", "_")


@dataclass
class Trace:
    """One Slack request as the app handled it; times are `time.perf_counter()` seconds."""

    ack: outbound.Segment = field(default_factory=outbound.Segment)
    lazy: outbound.Segment = field(default_factory=outbound.Segment)
    entered: float = 0.0
    acked: float = 0.0
    finished: float = 0.0
    done: threading.Event = field(default_factory=threading.Event)
    _pending: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def lazy_started(self) -> None:
        with self._lock:
            self._pending += 1

    def part_finished(self, *, lazy: bool) -> None:
        with self._lock:
            if lazy:
                self._pending -= 1
            self.finished = time.perf_counter()
            if self._pending == 0 and self.acked:
                self.done.set()

    def calls(self) -> dict[str, int]:
        return dict(self.ack.calls + self.lazy.calls)


_serving = threading.local()


class _TracingExecutor(Executor):
    """Bolt's lazy-listener executor, attaching each lazy run to its request's trace."""

    def __init__(self, inner: Executor) -> None:
        self._inner = inner

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        trace: Trace | None = getattr(_serving, "trace", None)
        if trace is None:
            return self._inner.submit(fn, *args, **kwargs)
        trace.lazy_started()

        def run() -> Any:
            try:
                with outbound.recording(trace.lazy):
                    return fn(*args, **kwargs)
            finally:
                trace.part_finished(lazy=True)

        return self._inner.submit(run)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._inner.shutdown(wait=wait, cancel_futures=cancel_futures)


WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class TracedApp:
    """The served app; `trace(trace_id)` hands over what a traced request recorded."""

    def __init__(self, environment: dict[str, str]) -> None:
        outbound.install()
        os.environ.update(environment)  # boto3 reads its endpoints from the environment
        wiring = build(load_settings(environment))
        assert wiring.app is not None  # the benchmarks serve Slack
        runner = wiring.app._listener_runner.lazy_listener_runner
        runner.executor = _TracingExecutor(runner.executor)  # type: ignore[attr-defined]
        self._traces: dict[str, Trace] = {}
        self._server = make(wiring, port=0)
        served = self._server.get_app()
        assert served is not None
        self._server.set_app(self._traced(served))
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def _traced(self, app: WSGIApp) -> WSGIApp:
        def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
            trace_id = environ.get(_WSGI_KEY)
            if trace_id is None:
                return list(app(environ, start_response))
            trace = self._traces[trace_id] = Trace()
            _serving.trace = trace
            trace.entered = time.perf_counter()
            try:
                with outbound.recording(trace.ack):
                    return list(app(environ, start_response))
            finally:
                _serving.trace = None
                trace.acked = time.perf_counter()
                trace.part_finished(lazy=False)

        return application

    def trace(self, trace_id: str, *, wait: float = 10.0) -> Trace:
        """The trace of a request whose answer has arrived, once its lazy work is done too."""
        trace = self._traces.pop(trace_id)
        if not trace.done.wait(wait):
            raise TimeoutError(f"request {trace_id} still had lazy work after {wait} s")
        return trace

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


@contextmanager
def served(environment: dict[str, str]) -> Iterator[TracedApp]:
    app = TracedApp(environment)
    try:
        yield app
    finally:
        app.close()
