"""`tfcards serve`: a live local web page for card authors.

One module per job: `workspace` (the live deck: reload changed files, re-judge, re-run only
changed cards), `preview` (a card as Anki renders it and as it prints), `pages` (the HTML pages
and the fragments pushed to them), `app` (the aiohttp server, its server-sent events and the
watchfiles watcher). The fork server is `runner.WarmRunner`.
"""
from __future__ import annotations

import asyncio
import errno
import os
import signal
import socket
import sys
import webbrowser
from pathlib import Path
from typing import Callable, Sequence

from ..cache import Cache
from ..errors import CardError
from ..runner import DEFAULT_MEMORY

HOST = "127.0.0.1"
PORT = 8000  # when none is given; taken, any free port


def serve(paths: Sequence[Path], *, topics: Sequence[str] = (), tags: Sequence[str] = (), host: str = HOST,
          port: int | None = None, open_browser: bool = False, jobs: int | None = None, cache: Cache | None = None,
          templates_dir: Path | None = None, card_size: str | None = None, python: str | None = None,
          strict: bool = False, sandbox: bool = False, announce: Callable[[str], None] = print) -> None:
    """Serve the cards under PATHS at http://HOST:PORT/ until interrupted (PORT 0: any free port;
    None: 8000, or any free port if 8000 is taken),
    run under PYTHON's TensorFlow (default: this one); with STRICT a strict-check finding fails a
    card, as `verify --strict` does; with SANDBOX the cards run confined (sandbox.py). ANNOUNCE
    hears the URL once the server listens and watches."""
    from ..interpreter import probe
    from ..verify import default_jobs
    from . import app
    from .workspace import Workspace

    interpreter = probe(python)  # a bad --python is a one-line error before anything starts
    sock = listen(host, port)
    for path in paths:
        if not Path(path).exists():
            print(f"warning: {path} does not exist yet: its cards show once it is created", file=sys.stderr)

    def workspace(submit) -> Workspace:
        return Workspace(list(paths), submit, topics=topics, tags=tags, cache=cache, memory=DEFAULT_MEMORY,
                         interpreter=interpreter, strict=strict)

    def started(server) -> None:
        url = f"http://{host}:{sock.getsockname()[1]}/"
        announce(url)
        if open_browser:
            webbrowser.open(url)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await app.run(workspace, sock, jobs=jobs or default_jobs(), templates_dir=templates_dir,
                      card_size=card_size, started=started, stop=stop, python=interpreter.python, host=host,
                      sandbox=sandbox)

    with sock:
        asyncio.run(main())


def listen(host: str, port: int | None) -> socket.socket:
    """A socket listening on HOST:PORT; a port in use (or any other refusal) is one line of bad
    input, unless no port was asked for: then any free port does."""
    try:
        return socket.create_server((host, PORT if port is None else port))
    except OSError as e:
        if port is None and e.errno == errno.EADDRINUSE:
            print(f"port {PORT} is in use: serving on a free port instead", file=sys.stderr)
            return listen(host, 0)
        hint = " (another server is using it): give another --port, or --port 0 for any free port" \
            if e.errno == errno.EADDRINUSE else ""
        raise CardError(f"cannot listen on {host}:{PORT if port is None else port}: "
                        f"{os.strerror(e.errno) if e.errno else e}{hint}") from None
