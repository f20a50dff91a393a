"""Run an aiohttp app on a loopback port in a background thread (tests, `make run`)."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field

from aiohttp import web


@dataclass
class RunningServer:
    """An app being served; `url` ends without a slash, e.g. http://127.0.0.1:51234."""

    url: str
    port: int
    _loop: asyncio.AbstractEventLoop = field(repr=False)
    _runner: web.AppRunner = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    def stop(self) -> None:
        """Stop serving and join the thread."""
        future = asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop)
        future.result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_in_thread(
    app: web.Application, *, host: str = "127.0.0.1", port: int = 0
) -> RunningServer:
    """Start `app` on `host:port` (0 picks a free port) and return once it accepts."""
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app, access_log=None)
    started: dict[str, int] = {}
    ready = threading.Event()
    failure: list[BaseException] = []

    async def start() -> None:
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        started["port"] = int(runner.addresses[0][1])

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(start())
        except BaseException as exc:  # surfaced to the caller below
            failure.append(exc)
            ready.set()
            return
        ready.set()
        loop.run_forever()
        loop.close()

    thread = threading.Thread(target=run, name="emulator-server", daemon=True)
    thread.start()
    ready.wait(timeout=10)
    if failure:
        raise failure[0]
    bound = started["port"]
    return RunningServer(f"http://{host}:{bound}", bound, loop, runner, thread)
