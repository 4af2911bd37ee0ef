"""The web server of `tfcards serve` (aiohttp): pages, server-sent events, and the file watcher
(watchfiles) that turns a save into a reload, a re-run and a push."""
from __future__ import annotations

import asyncio
import concurrent.futures
import ipaddress
import json
import multiprocessing
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

import watchfiles
from aiohttp import web

from .. import images, render
from ..runner import RunnerError, WarmRunner
from . import preview
from .pages import Pages
from .workspace import Update, Workspace

KEEPALIVE = 15.0  # seconds between SSE comments, so proxies and browsers keep an idle stream
WATCH_STEP_MS = 20  # after a file event, wait this long for more before reloading (an editor's
# save is several events); watchfiles' default (50 ms) spends a tenth of the latency budget


# The page loads only from itself: its script and style sheets, the card previews' style sheet and
# images, the printed sides, the event stream. An Anki template may style with attributes (kept
# for a faithful preview); nothing can load from elsewhere. docs/security.md, section 5.
PAGE_POLICY = ("default-src 'self'; style-src-attr 'unsafe-inline'; object-src 'none'; base-uri 'self'; "
               "form-action 'self'; frame-ancestors 'self'")
# A deck's image opened on its own (an SVG is a document): no script, an origin of its own.
MEDIA_POLICY = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
WILDCARDS = ("", "0.0.0.0", "::")


@dataclass(frozen=True)
class Hosts:
    """The `Host` headers the server answers: the address it listens on, or localhost, with its
    port; listening on every address, any IP address with its port. A name that resolves to this
    machine only because someone rebound it (DNS rebinding) is refused."""

    host: str
    port: int

    def allows(self, header: str | None) -> bool:
        if not header:
            return False
        try:
            parts = urlsplit("//" + header)
            name, port = (parts.hostname or "").rstrip("."), parts.port or 80
        except ValueError:
            return False
        if port != self.port or parts.username is not None or parts.path:
            return False
        if name in (self.host.lower().strip("[]"), *LOOPBACK_NAMES):
            return True
        return self.host in WILDCARDS and _is_ip(name)

    def __str__(self) -> str:
        host = "127.0.0.1" if self.host in WILDCARDS else self.host
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}/"


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


@dataclass(eq=False)  # a set member by identity
class _Subscriber:
    page: str
    card_id: str | None
    queue: asyncio.Queue


class Server:
    """The live deck, its fork server, its watcher and the open pages' event streams."""

    def __init__(self, ws_factory: Callable[[Callable[[dict], None]], Workspace], *, jobs: int,
                 templates_dir: Path | None = None, card_size: str | None = None,
                 python: str | None = None, sandbox: bool = False) -> None:
        self.loop = asyncio.get_running_loop()
        self.jobs = jobs
        self.python = python
        self.sandbox = sandbox
        self._inbox: list[dict] = []
        self.runner = self._new_runner()
        self.ws = ws_factory(self._submit)
        self.templates_dir = (templates_dir or render.default_templates_dir()).resolve()
        self.pages = Pages(self.ws, render.environment(templates_dir), card_size)
        self.card_size = card_size
        self.subscribers: set[_Subscriber] = set()
        self.stop = asyncio.Event()
        self._print_dir = tempfile.TemporaryDirectory(prefix="tfcards-serve-")
        self._printer: concurrent.futures.ProcessPoolExecutor | None = None
        self._prints: dict[tuple[str, str], asyncio.Future] = {}

    # --- the fork server ------------------------------------------------------------------------

    def _new_runner(self) -> WarmRunner:
        return WarmRunner(
            self.jobs,
            on_result=lambda outcome: self.loop.call_soon_threadsafe(self._received, outcome),
            on_died=lambda error: self.loop.call_soon_threadsafe(self._died, error), python=self.python,
            sandbox=self.sandbox)

    def _submit(self, job: dict) -> None:
        self.runner.submit(job)

    def _received(self, outcome: dict) -> None:
        # Outcomes that arrived while the loop was busy are judged and pushed as one update:
        # re-judging the deck costs the same for one outcome as for fifty.
        self._inbox.append(outcome)
        if len(self._inbox) == 1:
            self.loop.call_soon(self._take_inbox)

    def _take_inbox(self) -> None:
        outcomes, self._inbox = self._inbox, []
        self.push(self.ws.received(*outcomes))

    def _died(self, error: RunnerError) -> None:
        self.runner.close()
        self.runner = self._new_runner()
        self.push(self.ws.runner_died(str(error)))

    # --- pushing --------------------------------------------------------------------------------

    def push(self, update: Update, cards_look_changed: bool = False) -> None:
        """Send each open page what UPDATE changed for it."""
        if not update and not cards_look_changed:
            return
        deck = None
        mains: dict[str, dict] = {}
        for sub in list(self.subscribers):
            if sub.page == "deck":
                if update:
                    deck = deck or self.pages.deck_update(update)
                    sub.queue.put_nowait(deck)
            elif (cards_look_changed or update.errors or sub.card_id in update.changed
                  or sub.card_id in update.removed):
                if sub.card_id not in mains:
                    mains[sub.card_id] = self.pages.card_main(sub.card_id)
                sub.queue.put_nowait(mains[sub.card_id])

    # --- watching -------------------------------------------------------------------------------

    def watch_roots(self) -> list[Path]:
        roots = {self.templates_dir}
        for p in self.ws.paths:
            root = p.resolve() if p.is_dir() else p.resolve().parent
            while not root.exists():  # a path that does not exist yet: watch where it will appear
                root = root.parent
            roots.add(root)
        return sorted(roots)

    async def watch(self, ready: asyncio.Event | None = None) -> None:
        """Reload what each save changed, until STOP."""
        roots = self.watch_roots()
        batches = watchfiles.awatch(*roots, stop_event=self.stop, step=WATCH_STEP_MS, debounce=1_000,
                                    recursive=True).__aiter__()
        batch = asyncio.ensure_future(batches.__anext__())
        await asyncio.sleep(0)  # the generator ran to its first await: its watcher is watching
        if ready is not None:
            ready.set()
        while True:
            try:
                changes = await batch
            except StopAsyncIteration:
                return
            self.changed({Path(path) for _, path in changes})
            batch = asyncio.ensure_future(batches.__anext__())

    def changed(self, paths: set[Path]) -> None:
        topics = {p for p in paths if self.ws.watches(p)}
        topics |= {p for p in self.ws.topic_files() if not p.exists()}  # a directory moved away
        others = paths - topics
        templates = any(self.templates_dir in p.parents for p in others)
        if templates:
            self.pages.templates_generation += 1
            self.pages.card_env = render.environment(
                None if self.templates_dir == render.default_templates_dir().resolve() else self.templates_dir)
        if self.ws.runner_error is not None and topics:
            self.ws.runner_restarted()
        if any(p.exists() for p in self.ws.missing):  # files may have come before the new folder's watch
            update = self.ws.scan()
        else:
            update = self.ws.reload(self._relative(topics)) if topics else Update(self.ws.version)
        self.push(update, cards_look_changed=bool(others))

    def _relative(self, paths: set[Path]) -> set[Path]:
        """Watcher paths are absolute; the workspace keys files as its PATHS spell them."""
        out = set()
        for path in paths:
            for root in self.ws.paths:
                absolute = root.absolute()
                if path == absolute or absolute in path.parents:
                    out.add(root / path.relative_to(absolute) if path != absolute else root)
                    break
            else:
                out.add(path)
        return out

    # --- the printed sides ----------------------------------------------------------------------

    async def printed(self, card_id: str, which: str) -> Path:
        entry = self.ws.entry(card_id)
        if entry is None:
            raise web.HTTPNotFound(text=f"no card {card_id!r}")
        token = self.pages.print_token(card_id)
        future = self._prints.get((card_id, token))
        if future is None:
            if self._printer is None:  # spawned: forking a process with threads is unsafe
                self._printer = concurrent.futures.ProcessPoolExecutor(
                    max_workers=1, mp_context=multiprocessing.get_context("spawn"))
            out_dir = Path(self._print_dir.name) / token
            templates = None if self.templates_dir == render.default_templates_dir().resolve() else self.templates_dir
            future = asyncio.wrap_future(self._printer.submit(
                preview.printed_sides, entry.card, self.ws.tensorflow, templates, out_dir, self.card_size,
                self.pages.figures(card_id)))
            self._prints[(card_id, token)] = future
        front, back = await asyncio.shield(future)
        return front if which == "front" else back

    def close(self) -> None:
        self.stop.set()
        for sub in self.subscribers:
            sub.queue.put_nowait(None)
        self.runner.close()
        if self._printer is not None:
            self._printer.shutdown(wait=True, cancel_futures=True)
        self._print_dir.cleanup()


def make_app(server: Server, hosts: Hosts) -> web.Application:
    """The routes of the live page, answering only requests addressed to HOSTS."""

    @web.middleware
    async def addressed_here(request: web.Request, handler):
        if not hosts.allows(request.headers.get("Host")):
            raise web.HTTPMisdirectedRequest(text=f"tfcards serve answers only requests addressed to {hosts} "
                                                  "or localhost with its port (see docs/serve.md)\n")
        return await handler(request)

    async def policy(request: web.Request, response: web.StreamResponse) -> None:
        response.headers.setdefault("Content-Security-Policy", PAGE_POLICY)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"

    app = web.Application(middlewares=[addressed_here])
    app.on_response_prepare.append(policy)
    static = render.default_templates_dir() / "serve"

    async def deck(request: web.Request) -> web.Response:
        return web.Response(text=server.pages.deck(), content_type="text/html")

    async def card(request: web.Request) -> web.Response:
        return web.Response(text=server.pages.card(request.match_info["card_id"]), content_type="text/html")

    async def asset(request: web.Request) -> web.FileResponse:
        name = request.match_info["name"]
        if name not in ("serve.js", "serve.css"):
            raise web.HTTPNotFound()
        return web.FileResponse(static / name, headers={"Cache-Control": "no-cache"})

    async def media(request: web.Request) -> web.Response:
        """Only images a card shown here names, checked again as they are sent (images.read)."""
        path = server.pages.media.get(request.match_info["name"])
        if path is None:
            raise web.HTTPNotFound()
        try:
            data, kind = images.read(path)
        except (OSError, images.Refused):
            raise web.HTTPNotFound() from None
        return web.Response(body=data, content_type=kind.mime,
                            headers={"Content-Security-Policy": MEDIA_POLICY, "Cache-Control": "no-cache"})

    async def note_css(request: web.Request) -> web.Response:
        """The cards' CSS for the previews (a file, so the page's policy needs no inline style)."""
        css = server.pages.card_env.get_template("anki/style.css").render()
        return web.Response(text=css, content_type="text/css", headers={"Cache-Control": "no-cache"})

    async def printed(request: web.Request) -> web.FileResponse:
        try:
            path = await server.printed(request.match_info["card_id"], request.match_info["which"])
        except preview.PrintUnavailable as e:
            raise web.HTTPServiceUnavailable(text=str(e)) from None
        return web.FileResponse(path, headers={"Cache-Control": "max-age=3600"})

    async def events(request: web.Request) -> web.StreamResponse:
        page = request.query.get("page", "deck")
        sub = _Subscriber(page, request.query.get("card"), asyncio.Queue())
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        server.subscribers.add(sub)
        try:
            if request.query.get("since") != str(server.ws.version):  # changed while the page loaded
                await _send(response, server.pages.deck_main() if page == "deck"
                            else server.pages.card_main(sub.card_id or ""))
            while not server.stop.is_set():
                try:
                    message = await asyncio.wait_for(sub.queue.get(), KEEPALIVE)
                except asyncio.TimeoutError:
                    await response.write(b": keep-alive\n\n")
                    continue
                if message is None:
                    break
                await _send(response, message)
        except (ConnectionResetError, asyncio.CancelledError):
            pass  # the page was closed
        finally:
            server.subscribers.discard(sub)
        return response

    app.router.add_get("/", deck)
    app.router.add_get("/card/{card_id}", card)
    app.router.add_get("/card/{card_id}/print/{which:front|back}.png", printed)
    app.router.add_get("/static/{name}", asset)
    app.router.add_get("/media/{name}", media)
    app.router.add_get("/note.css", note_css)
    app.router.add_get("/events", events)

    async def on_shutdown(app: web.Application) -> None:
        for sub in list(server.subscribers):
            sub.queue.put_nowait(None)

    app.on_shutdown.append(on_shutdown)
    return app


async def _send(response: web.StreamResponse, data: dict) -> None:
    await response.write(b"event: update\ndata: " + json.dumps(data).encode() + b"\n\n")


async def run(ws_factory, sock: socket.socket, *, jobs: int, templates_dir: Path | None = None,
              card_size: str | None = None, started: Callable[[Server], None] | None = None,
              stop: asyncio.Event | None = None, python: str | None = None, host: str | None = None,
              sandbox: bool = False) -> None:
    """Serve on SOCK (bound to HOST: default its address) until STOP is set (or the task is
    cancelled); cards run under PYTHON (with SANDBOX, confined)."""
    server = Server(ws_factory, jobs=jobs, templates_dir=templates_dir, card_size=card_size, python=python,
                    sandbox=sandbox)
    address, port = sock.getsockname()[:2]
    hosts = Hosts(address if host is None else host, port)
    runner = web.AppRunner(make_app(server, hosts), handle_signals=False, shutdown_timeout=2)
    await runner.setup()
    watching = asyncio.Event()
    watcher = asyncio.create_task(server.watch(watching))
    try:
        server.runner.start()  # TensorFlow imports while the first page renders from the cache
        server.push(server.ws.scan())
        await web.SockSite(runner, sock).start()
        await watching.wait()
        if started is not None:
            started(server)
        await (stop or server.stop).wait()
    finally:
        server.close()
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)
        await runner.cleanup()
