"""The browser view: an MJPEG stream of the annotated frames and a small page, on 127.0.0.1.

Another web page open in the same browser must be able neither to read the view nor to drive the
demo. Three rules see to it: a request must name this machine in its ``Host`` header (127.0.0.1,
localhost, [::1] or the bound address), which defeats DNS rebinding; the controls are ``POST``
requests that carry a per-run token, which only the page served here knows, and a cross-origin
``Origin`` is refused; and the responses may not be framed or embedded by other origins. Idle
connections are closed after a timeout, so they cannot hold the server's threads.
"""
from __future__ import annotations

import hmac
import json
import queue
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import numpy as np

from .._shared import UsageError

BOUNDARY = "cvtoolsframe"
#: Keys the page can send (as the window's keys): quit, pause, snapshot, next detector.
CONTROL_KEYS = ("q", "space", "s", "d")
#: Host names a request may address (with any port), besides the address the server is bound to.
LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]")
#: Header that carries the per-run control token (the page sends it with every control request).
TOKEN_HEADER = "X-CVTools-Token"
_MAX_BODY = 1024
# Sent with every response: no framing by other pages (clickjacking the buttons), no embedding of the
# stream or the JSON by other origins, no content sniffing.
_SAFE_HEADERS = (("X-Frame-Options", "DENY"), ("Content-Security-Policy", "frame-ancestors 'none'"),
                 ("Cross-Origin-Resource-Policy", "same-origin"), ("X-Content-Type-Options", "nosniff"),
                 ("Referrer-Policy", "no-referrer"))


def _page(token: str = "") -> bytes:
    return (Path(__file__).with_name("_page.html")).read_bytes().replace(b"__CVTOOLS_TOKEN__", token.encode())


def _host_name(value: str) -> str | None:
    """The host of a ``Host`` header value (``name``, ``name:port``, ``[v6]:port``), lower case; None if malformed."""
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        name, rest = value[:end + 1], value[end + 1:]
    else:
        name, colon, port = value.partition(":")
        rest = colon + port
    if rest and not (rest.startswith(":") and rest[1:].isdigit()):
        return None
    return name or None


class MJPEGServer:
    """Serve the newest published frame as MJPEG, plus a page and a JSON status endpoint.

    Endpoints: ``/`` the page; ``/stream.mjpg`` the ``multipart/x-mixed-replace`` stream; ``/frame.jpg``
    the newest frame; ``/stats.json`` FPS and the current detections; ``POST /control`` with
    ``key=q|space|s|d`` (the page's buttons; read with :meth:`poll_control`), which needs the per-run
    :attr:`token` in the ``X-CVTools-Token`` header (or a ``token`` form field). Frames are
    JPEG-encoded once per published frame and only when a client asks, so an unwatched server costs
    nothing.

    Requests whose ``Host`` is not 127.0.0.1, localhost, [::1] or the bound address (any port) get
    403, as do controls with a wrong token or from another origin; a connection silent for
    ``timeout`` seconds is closed.

    Parameters
    ----------
    host : str
        Address to bind; the default keeps it on this machine.
    port : int
        0 picks a free port; see :attr:`url`.
    quality : int
        JPEG quality.
    timeout : float
        Seconds a client may stay silent (sending its request, or not reading the stream) before its
        connection is closed.

    Raises
    ------
    ValueError
        (cvtools' ``UsageError``) When the port cannot be bound (in use, or privileged).

    Examples
    --------
    >>> with MJPEGServer() as server:  # doctest: +SKIP
    ...     server.publish(frame, {"fps": 25.0})
    ...     print(server.url)
    """

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, quality: int = 80, timeout: float = 10.0):
        self.quality = int(quality)
        #: The per-run secret the page sends with each control request.
        self.token = secrets.token_urlsafe(24)
        self._cond = threading.Condition()
        self._frame: np.ndarray | None = None
        self._seq = 0
        self._jpeg: tuple[int, bytes] | None = None
        self._stats: dict = {"frame": 0, "fps": 0.0, "detections": []}
        self._closed = False
        self._controls: queue.Queue = queue.Queue(maxsize=16)
        self.clients = 0
        try:
            self._httpd = _HTTPServer((host, int(port)), _Handler, view=self, timeout=float(timeout))
        except OSError as exc:
            raise UsageError(f"cannot serve on {host}:{port} ({exc.strerror or exc}); choose another "
                             f"--port, or 0 for a free one.") from exc
        self.host, self.port = self._httpd.server_address[:2]
        bound = str(self.host).lower()
        self._hosts = frozenset((*LOCAL_HOSTS, f"[{bound}]" if ":" in bound else bound))
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="cvtools-mjpeg", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        """The page's address, e.g. ``http://127.0.0.1:40123/``."""
        return f"http://{self.host}:{self.port}/"

    def publish(self, frame: np.ndarray, stats: dict | None = None) -> None:
        """Make ``frame`` (RGB uint8, not copied: do not modify it afterwards) the newest frame."""
        with self._cond:
            self._frame = frame
            self._seq += 1
            if stats is not None:
                self._stats = dict(stats, frame_seq=self._seq)
            self._cond.notify_all()

    def set_stats(self, stats: dict) -> None:
        """Replace what ``/stats.json`` returns."""
        with self._cond:
            self._stats = dict(stats, frame_seq=self._seq)

    def stats(self) -> dict:
        with self._cond:
            return dict(self._stats, clients=self.clients, closed=self._closed)

    def poll_control(self) -> str | None:
        """The next key sent from the page (``"q"``, ``"space"``, ``"s"``, ``"d"``), or None."""
        try:
            return self._controls.get_nowait()
        except queue.Empty:
            return None

    def _wait_jpeg(self, after: int, timeout: float):
        """(seq, jpeg bytes) of a frame newer than ``after``; None on timeout or when closed."""
        deadline = time.perf_counter() + timeout
        with self._cond:
            while (self._seq <= after or self._frame is None) and not self._closed:
                remaining = deadline - time.perf_counter()
                if remaining <= 0:
                    return None
                self._cond.wait(remaining)
            if self._frame is None or self._seq <= after:
                return None
            if self._jpeg is not None and self._jpeg[0] == self._seq:
                return self._jpeg
            seq, frame = self._seq, self._frame
        from ..io import encode  # the RGB -> BGR swap for OpenCV's encoder happens in io

        # Encode outside the lock, so publish() never waits for a JPEG encoder.
        jpeg = (seq, encode(frame, ".jpg", quality=self.quality))
        with self._cond:
            if self._jpeg is None or self._jpeg[0] < seq:
                self._jpeg = jpeg
        return jpeg

    def close(self) -> None:
        """Stop serving: streams end, the port is freed. Safe to call more than once."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._cond.notify_all()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5.0)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


class _HTTPServer(ThreadingHTTPServer):
    """The HTTP server behind one :class:`MJPEGServer` (``view``); its handlers reach the view through it."""

    daemon_threads = True

    def __init__(self, address, handler, *, view: MJPEGServer, timeout: float):
        self.view = view
        self.client_timeout = timeout
        super().__init__(address, handler)


class _Handler(BaseHTTPRequestHandler):
    """One request to the browser view: the page, the stream, a frame, the stats or a control."""

    protocol_version = "HTTP/1.0"
    server: _HTTPServer

    def setup(self):
        self.timeout = self.server.client_timeout  # a socket timeout: a silent client is dropped
        super().setup()

    def log_message(self, *args):  # no access log on stderr
        pass

    def do_GET(self):
        view = self.server.view
        path = urlparse(self.path).path
        try:
            if not self._host_ok():
                return
            if path in ("/", "/index.html"):
                self._send(200, "text/html; charset=utf-8", _page(view.token))
            elif path == "/stats.json":
                self._send(200, "application/json", json.dumps(view.stats()).encode())
            elif path == "/frame.jpg":
                jpeg = view._wait_jpeg(0, timeout=5.0)
                if jpeg is None:
                    self._send(503, "text/plain", b"no frame yet\n")
                else:
                    self._send(200, "image/jpeg", jpeg[1])
            elif path == "/stream.mjpg":
                self._stream()
            elif path == "/control":
                self._send(405, "text/plain", b"controls are POST requests (with the page's token)\n",
                           [("Allow", "POST")])
            else:
                self._send(404, "text/plain", b"not found\n")
        except OSError:  # the client left, or stopped reading for `timeout` seconds
            pass

    def do_POST(self):
        try:
            if not self._host_ok():
                return
            if urlparse(self.path).path != "/control":
                self._send(404, "text/plain", b"not found\n")
                return
            key, refused = self._read_control()
            if refused is not None:
                self._send(*refused)
                return
            try:
                self.server.view._controls.put_nowait(key)
            except queue.Full:
                pass
            self._send(200, "application/json", b'{"ok": true}')
        except OSError:
            pass

    def _host_ok(self) -> bool:
        name = _host_name(self.headers.get("Host", ""))
        if name is not None and name in self.server.view._hosts:
            return True
        self._send(403, "text/plain", f"the Host header must name this machine ({', '.join(LOCAL_HOSTS)}); "
                                      f"open {self.server.view.url}\n".encode())
        return False

    def _read_control(self) -> tuple[str | None, tuple[int, str, bytes] | None]:
        """``(key, None)`` for an accepted ``POST /control``, else ``(None, (status, type, body))``."""
        origin = self.headers.get("Origin")
        if origin is not None and origin.lower() != f"http://{self.headers['Host'].strip().lower()}":
            return None, (403, "text/plain", b"controls are accepted from this server's page only\n")
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= _MAX_BODY:
            return None, (413 if length > _MAX_BODY else 400, "text/plain", b"bad request body\n")
        form = parse_qs(self.rfile.read(length).decode("utf-8", "replace"))
        token = self.headers.get(TOKEN_HEADER) or form.get("token", [""])[0]
        if not hmac.compare_digest(token.encode(), self.server.view.token.encode()):
            return None, (403, "text/plain", b"missing or wrong control token (reload the page)\n")
        key = form.get("key", [""])[0]
        if key not in CONTROL_KEYS:
            return None, (400, "text/plain", f"key must be one of {CONTROL_KEYS}\n".encode())
        return key, None

    def _send(self, code, ctype, body, headers=()):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in (*_SAFE_HEADERS, *headers):
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _stream(self):
        view = self.server.view
        self.send_response(200)
        self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        for name, value in _SAFE_HEADERS:
            self.send_header(name, value)
        self.end_headers()
        with view._cond:
            view.clients += 1
        try:
            seq = 0
            while True:
                jpeg = view._wait_jpeg(seq, timeout=1.0)
                if jpeg is None:
                    if view._closed:
                        return
                    continue
                seq, data = jpeg
                self.wfile.write(f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                                 f"Content-Length: {len(data)}\r\n\r\n".encode())
                self.wfile.write(data)
                self.wfile.write(b"\r\n")
                self.wfile.flush()
        finally:
            with view._cond:
                view.clients -= 1
