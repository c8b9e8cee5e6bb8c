"""`ampemu run --web [HOST:]PORT`: the phone page and its JSON API, served from the engine process.

aiohttp (one dependency with its own event loop, WebSocket, server-sent events and streaming
multipart built in) runs on its own non-real-time thread. Handlers touch nothing but the `Pedal`
(the control channel) and the `BankEditor` (the bank's folder); the audio callback never waits for
them. Uploads and saves run on worker threads so the meters keep flowing.

Security: every request but the login page carries the device's token, as `Authorization: Bearer`
or as the cookie a visit to `/?token=...` sets (HttpOnly, SameSite=Strict). A state-changing request
is a POST (the routes accept nothing else) and, when the cookie authenticates it, its Origin (or
Referer) must be this server: another site's page cannot drive the pedal through the user's browser.
Static files are a fixed list (no directory listing); uploads are capped and stay in the bank's folder.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import threading
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from engine.errors import AmpemuError
from engine.web.bank_edit import BankEditor, EditError
from engine.web.capture import Busy, CaptureJob
from engine.web.pedal import Meters, Pedal

STATIC = Path(__file__).parent / "static"
PAGES = {"/": "index.html", "/app.js": "app.js", "/app.css": "app.css", "/icon.svg": "icon.svg"}
COOKIE = "ampemu_token"
TICK_S = 0.1  # live frames per second: 10
FIELD_LIMIT = 200  # bytes of a non-file form field
HEADERS = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin",
           "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'"}


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


class WebServer:
    def __init__(self, pedal: Pedal, token: str, host: str = "127.0.0.1", port: int = 8080,
                 editor: BankEditor | None = None, restart=None, capture_root: Path | None = None):
        self.pedal, self.token, self.host, self.port = pedal, token, host, port
        self.editor, self.restart = editor, restart
        self.capture = None if capture_root is None else CaptureJob(pedal, capture_root)
        self.closing = False
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="ampemu-web", daemon=True)
        self._runner: web.AppRunner | None = None
        self._meters = Meters(pedal)  # /api/state's levels; DSP load since the previous /api/state

    # --- life cycle (called from the main thread) ----------------------------------------------------
    def start(self) -> "WebServer":
        self._thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(timeout=30)
        except OSError as exc:
            self.close()
            raise AmpemuError(f"--web {self.host}:{self.port}: cannot listen there ({exc.strerror}); "
                              "pick another port or address") from None
        return self

    async def _serve(self) -> None:
        app = web.Application(middlewares=[self._guard], client_max_size=1024 * 1024)
        app.router.add_get("/login", self._login)
        for path in PAGES:
            app.router.add_get(path, self._page)
        app.router.add_get("/api/state", self._state)
        app.router.add_get("/api/live", self._live)
        app.router.add_post("/api/preset", self._preset)
        app.router.add_post("/api/bypass", self._bypass)
        app.router.add_post("/api/mute", self._mute)
        app.router.add_post("/api/params", self._params)
        app.router.add_post("/api/upload", self._upload)
        app.router.add_post("/api/save", self._save)
        app.router.add_post("/api/restart", self._restart)
        app.router.add_get("/api/capture", self._capture_state)
        app.router.add_post("/api/capture", self._capture_start)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]  # the real port when 0 was asked for

    def close(self) -> None:
        self.closing = True  # live streams end at their next tick
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    # --- security -----------------------------------------------------------------------------------
    def _valid(self, supplied: str | None) -> bool:
        return supplied is not None and hmac.compare_digest(supplied.encode(), self.token.encode())

    @web.middleware
    async def _guard(self, request: web.Request, handler):
        response = await self._checked(request, handler)
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if request.path.startswith("/api/"):
            response.headers["Cache-Control"] = "no-store"
        return response

    async def _checked(self, request: web.Request, handler):
        if request.path == "/login":
            return await handler(request)
        if request.path == "/" and "token" in request.query:  # the link ampemu doctor prints: set the cookie
            if not self._valid(request.query["token"]):
                return self._login_page(401, "That token is not this pedal's.")
            response = web.Response(status=303, headers={"Location": "/"})  # the token leaves the address bar
            response.set_cookie(COOKIE, self.token, max_age=400 * 86400, httponly=True, samesite="Strict", path="/")
            return response
        bearer = request.headers.get("Authorization", "")
        if bearer.startswith("Bearer ") and self._valid(bearer[7:].strip()):
            return await handler(request)  # a header a browser never adds on its own: no CSRF check needed
        if not self._valid(request.cookies.get(COOKIE)):
            if request.path == "/":
                return self._login_page(401, "")
            return _error(401, "missing or wrong token: open the link `ampemu doctor` prints")
        if request.method not in ("GET", "HEAD") and not self._same_origin(request):
            return _error(403, "cross-site request refused (its Origin is not this pedal)")
        return await handler(request)

    @staticmethod
    def _same_origin(request: web.Request) -> bool:
        source = request.headers.get("Origin") or request.headers.get("Referer")
        if not source or source == "null":
            return False
        parts = urlsplit(source)
        return parts.scheme == request.scheme and parts.netloc == request.host

    def _login_page(self, status: int, note: str) -> web.Response:
        html = (STATIC / "login.html").read_text(encoding="utf-8").replace("{note}", note)
        response = web.Response(text=html, status=status, content_type="text/html")
        # the one page without the token: no script at all, its own inline style
        response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'"
        return response

    async def _login(self, request: web.Request) -> web.Response:
        return self._login_page(200, "")

    # --- pages and reads ----------------------------------------------------------------------------
    async def _page(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / PAGES[request.path])

    def _state_dict(self) -> dict:
        state = {**self._meters.read(), **self.pedal.state()}
        editor = self.editor
        state["bank"] = None if editor is None else {
            "path": str(editor.path), "presets": editor.preset_names(), "unsaved": editor.unsaved,
            "unapplied": editor.unapplied, "max_upload": editor.max_upload}
        state["can_restart"] = self.restart is not None
        state["can_capture"] = self.capture is not None
        return state

    async def _state(self, request: web.Request) -> web.Response:
        return web.json_response(self._state_dict())

    async def _live(self, request: web.Request) -> web.StreamResponse:
        """Server-sent events: one JSON frame of meters (and the tuner with ?tuner=1) every 100 ms."""
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"})
        await response.prepare(request)
        meters, tuner = Meters(self.pedal), request.query.get("tuner") == "1"
        try:
            while not self.closing:
                frame = meters.read(tuner)
                frame.update(await asyncio.to_thread(self.pedal.health))
                await response.write(f"data: {json.dumps(frame)}\n\n".encode())
                await asyncio.sleep(TICK_S)
        except (ConnectionResetError, asyncio.CancelledError):
            pass  # the page went away
        return response

    # --- changes (POST only) ------------------------------------------------------------------------
    @staticmethod
    async def _json(request: web.Request) -> dict:
        try:
            body = await request.json()
        except (ValueError, UnicodeDecodeError):
            raise ValueError("the body must be JSON") from None
        if not isinstance(body, dict):
            raise ValueError("the body must be a JSON object")
        return body

    async def _change(self, request: web.Request, apply) -> web.Response:
        try:
            apply(await self._json(request))
        except ValueError as exc:
            return _error(400, str(exc))
        return web.json_response(self._state_dict())

    async def _preset(self, request):
        return await self._change(request, lambda body: self.pedal.select(body.get("index")))

    async def _bypass(self, request):
        return await self._change(request, lambda body: self.pedal.set_bypass(body.get("on")))

    async def _mute(self, request):
        if self.capture is not None and self.capture.running:
            return _error(409, "a capture is running: the engine stays muted until it ends")
        return await self._change(request, lambda body: self.pedal.channel.set_mute(bool(body.get("on"))))

    async def _params(self, request):
        return await self._change(request, self.pedal.set_params)

    async def _upload(self, request: web.Request) -> web.Response:
        """multipart/form-data: kind (model | ir), replace (a preset index) or name (a new preset), then file."""
        if self.editor is None:
            return _error(409, "uploads need a preset bank (ampemu run --presets BANK)")
        limit = self.editor.max_upload
        if request.content_length is not None and request.content_length > limit + 64 * 1024:
            return _error(413, f"upload of {request.content_length} bytes refused: the limit is {limit} bytes")
        fields, filename, data = {}, None, bytearray()
        try:
            reader = await request.multipart()
            while (part := await reader.next()) is not None:
                if part.name != "file":
                    fields[part.name] = (await part.read_chunk(FIELD_LIMIT)).decode("utf-8", "replace")
                    continue
                filename = part.filename
                kind = fields.get("kind", "model")
                self.editor.check_upload(filename, kind, 0)  # a bad name is refused before any byte is read
                while chunk := await part.read_chunk(64 * 1024):
                    data += chunk
                    if len(data) > limit:
                        return _error(413, f"{filename}: over the upload limit of {limit} bytes")
        except EditError as exc:
            return _error(exc.status, str(exc))
        except (ValueError, AssertionError, HttpProcessingError) as exc:  # not multipart, or malformed
            return _error(400, f"malformed upload ({exc})")
        if filename is None:
            return _error(400, "no file in the upload (a form field named 'file')")
        replace = fields.get("replace", "").strip()
        try:
            summary = await asyncio.to_thread(
                self.editor.upload, filename, bytes(data), fields.get("kind", "model"),
                int(replace) if replace.lstrip("-").isdigit() else None, fields.get("name"))
        except EditError as exc:
            return _error(exc.status, str(exc))
        return web.json_response({"ok": summary, **self._state_dict()})

    async def _save(self, request: web.Request) -> web.Response:
        if self.editor is None:
            return _error(409, "no preset bank to save (ampemu run --presets BANK)")
        try:
            summary = await asyncio.to_thread(self.editor.save)
        except EditError as exc:
            return _error(exc.status, str(exc))
        return web.json_response({"ok": summary, **self._state_dict()})

    async def _restart(self, request: web.Request) -> web.Response:
        if self.restart is None:
            return _error(409, "this engine cannot restart itself")
        if self.editor is not None and self.editor.unsaved:
            return _error(409, "the bank has changes that are not saved: save it first (a restart loads the file)")
        if self.capture is not None and self.capture.running:
            return _error(409, "a capture is running: restart when it has finished")
        self._loop.call_later(0.2, self.restart)  # answer first
        return web.json_response({"ok": "restarting: the bank loads again, a few seconds of silence"})

    async def _capture_state(self, request: web.Request) -> web.Response:
        if self.capture is None:
            return _error(409, "captures need a preset bank (ampemu run --presets BANK): they go in its folder")
        return web.json_response(self.capture.status())

    async def _capture_start(self, request: web.Request) -> web.Response:
        """JSON: seconds, level_dbfs, send and return (optional). 202 and the job's state; poll GET."""
        if self.capture is None:
            return _error(409, "captures need a preset bank (ampemu run --presets BANK): they go in its folder")
        try:
            return web.json_response(self.capture.start(await self._json(request)), status=202)
        except ValueError as exc:
            return _error(400, str(exc))
        except Busy as exc:
            return _error(409, str(exc))
