"""Real servers for the catalogue tests, on 127.0.0.1 only, started and stopped by the tests:
nginx (Debian's) serving files with Range support and a per-request byte log, rustac's STAC API
server (``rustac serve``, pip's rustac), and a fault proxy and a relay of our own between a client and nginx."""

from __future__ import annotations

import http.client
import http.server
import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen | None = None, timeout: float = 20.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def nginx_binary() -> str | None:
    """Debian's nginx (or the one $GEOTALLY_TEST_NGINX names)."""
    named = os.environ.get("GEOTALLY_TEST_NGINX")
    if named and os.path.exists(named):
        return named
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.path.exists(p)), None)


class _Server:
    """A server process of ours on 127.0.0.1:``port``, stopped on leaving the ``with``."""

    port: int
    proc: subprocess.Popen | None = None

    def __exit__(self, *exc) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class Nginx(_Server):
    """nginx serving ``root``; ``bytes_sent()`` sums the body bytes of the access log (its byte counter).
    With ``token``, a request without ``Authorization: Bearer <token>`` gets 401."""

    def __init__(self, root: Path, work: Path, token: str | None = None, port: int | None = None):
        self.root, self.work, self.port = Path(root), Path(work), port or free_port()
        self.log = self.work / "access.log"
        self.token = token
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> "Nginx":
        binary = nginx_binary()
        if binary is None:
            raise RuntimeError("nginx is not installed")
        self.work.mkdir(parents=True, exist_ok=True)
        auth = (f'if ($http_authorization != "Bearer {self.token}") {{ return 401; }}' if self.token else "")
        user = "user root;" if os.geteuid() == 0 else ""
        conf = self.work / "nginx.conf"
        conf.write_text(f"""{user}
worker_processes 1; daemon off; pid {self.work}/nginx.pid; error_log {self.work}/error.log;
events {{ worker_connections 64; }}
http {{
  client_body_temp_path {self.work}/body; proxy_temp_path {self.work}/proxy; fastcgi_temp_path {self.work}/fcgi;
  uwsgi_temp_path {self.work}/uwsgi; scgi_temp_path {self.work}/scgi;
  types {{ image/tiff tif tiff; application/json json; }}
  log_format bytes '$request_method $uri $status $body_bytes_sent "$http_range"';
  access_log {self.log} bytes;
  server {{
    listen 127.0.0.1:{self.port};
    root {self.root};
    location / {{ {auth} }}
  }}
}}
""")
        self.proc = subprocess.Popen([binary, "-c", str(conf), "-p", str(self.work)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        wait_port(self.port, self.proc)
        return self


    def requests(self) -> list[tuple[str, str, int, int, str]]:
        """(method, path, status, body bytes, range) per request logged so far."""
        rows = []
        if self.log.exists():
            for line in self.log.read_text().splitlines():
                parts = line.split(" ", 4)
                rows.append((parts[0], parts[1], int(parts[2]), int(parts[3]), parts[4].strip('"')))
        return rows

    def bytes_sent(self, path_suffix: str = "") -> int:
        return sum(r[3] for r in self.requests() if r[1].endswith(path_suffix))

    def reset_log(self) -> None:
        if self.log.exists():
            self.log.write_text("")  # nginx keeps its descriptor and appends at the new end


def rustac_binary() -> str | None:
    return shutil.which("rustac") or (str(Path(os.sys.executable).parent / "rustac")
                                      if (Path(os.sys.executable).parent / "rustac").exists() else None)


class StacApi(_Server):
    """rustac's STAC API server (in-memory backend) loaded with the given collection and item files."""

    def __init__(self, hrefs: list[Path], port: int | None = None):
        self.hrefs, self.port = [str(h) for h in hrefs], port or free_port()
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> "StacApi":
        binary = rustac_binary()
        if binary is None:
            raise RuntimeError("rustac is not installed")
        self.proc = subprocess.Popen([binary, "serve", "--addr", f"127.0.0.1:{self.port}", *self.hrefs],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_port(self.port, self.proc, 60)
        return self



class _Handler(http.server.BaseHTTPRequestHandler):
    """A quiet HTTP/1.1 handler whose GETs and HEADs go to ``_answer(method)``."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def _answer(self, method: str) -> None:
        raise NotImplementedError

    def do_GET(self) -> None:
        self._answer("GET")

    def do_HEAD(self) -> None:
        self._answer("HEAD")


class _InProcess:
    """A server of the tests' own, in a thread of this process, on 127.0.0.1."""

    def _listen(self, handler) -> None:
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class FaultProxy(_InProcess):
    """An HTTP proxy to ``upstream`` that injects faults into the requests numbered in ``at`` (1-based,
    counting every request, or only the GETs whose path contains ``match`` where given): ``kind`` is an
    HTTP status (429, 500, 503), ``drop`` (half the body, then the connection closed), ``stall``
    (headers, then nothing for ``stall_s`` seconds, then closed) or ``redirect:URL`` (302 to URL; HEAD
    requests are still answered by the upstream, so only the range requests are redirected)."""

    def __init__(self, upstream_port: int, kind: str = "", at: set[int] | None = None, stall_s: float = 8.0,
                 match: str | None = None):
        self.upstream_port, self.kind, self.at, self.stall_s = upstream_port, kind, set(at or ()), stall_s
        self.match = match
        self.count = 0
        self.faults = 0
        self.lock = threading.Lock()
        proxy = self

        class Handler(_Handler):
            def _answer(self, method: str) -> None:
                counted = proxy.match is None or (method == "GET" and proxy.match in self.path)
                with proxy.lock:
                    proxy.count += counted
                    n = proxy.count if counted else 0
                fault = proxy.kind if n in proxy.at else ""
                if fault.startswith("redirect:") and method == "GET":
                    proxy.faults += 1
                    self.send_response(302)
                    self.send_header("Location", fault.split(":", 1)[1])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if fault.isdigit():
                    proxy.faults += 1
                    self.send_response(int(fault))
                    self.send_header("Content-Length", "0")
                    if fault == "429":
                        self.send_header("Retry-After", "1")
                    self.end_headers()
                    return
                conn = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() in ("range", "authorization", "accept")}
                conn.request(method, self.path, headers=headers)
                r = conn.getresponse()
                body = r.read()
                conn.close()
                self.send_response(r.status)
                for k, v in r.getheaders():
                    if k.lower() not in ("connection", "transfer-encoding", "keep-alive", "server", "date"):
                        self.send_header(k, v)
                self.end_headers()
                if method == "HEAD":
                    return
                if fault == "drop":
                    proxy.faults += 1
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if fault == "stall":
                    proxy.faults += 1
                    self.wfile.flush()
                    time.sleep(proxy.stall_s)
                    self.close_connection = True
                    return
                self.wfile.write(body)

        self._listen(Handler)


class Relay(_InProcess):
    """An HTTP server on 127.0.0.1 that answers from ``upstream`` (nginx), as another host or a provider
    would: ``auth`` is the header it sends upstream itself (its own access), ``head_status`` answers
    every HEAD with that status instead (a URL signed for GET only), ``headers`` are the response
    headers it passes on (no ETag or Last-Modified: a server without validators), and ``redirect_to``
    answers every request with a 302 to that base URL instead. Each request's method and the
    Authorization it came with are kept in ``seen``."""

    PASSED = ("content-length", "content-range", "content-type", "accept-ranges", "etag", "last-modified")

    def __init__(self, upstream_port: int | None = None, auth: str | None = None, head_status: int | None = None,
                 headers: tuple[str, ...] = PASSED, redirect_to: str | None = None):
        self.seen: list[tuple[str, str | None]] = []
        relay = self

        class Handler(_Handler):
            def _answer(self, method: str) -> None:
                relay.seen.append((method, self.headers.get("Authorization")))
                if redirect_to or (method == "HEAD" and head_status):
                    self.send_response(302 if redirect_to else head_status)
                    if redirect_to:
                        self.send_header("Location", f"{redirect_to}{self.path}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                sent = {k: v for k, v in self.headers.items() if k.lower() in ("range", "authorization")}
                if auth:
                    sent["Authorization"] = auth
                conn = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=30)
                conn.request(method, self.path.split("?")[0], headers=sent)
                r = conn.getresponse()
                body = r.read()
                conn.close()
                self.send_response(r.status)
                for k, v in r.getheaders():
                    if k.lower() in headers:
                        self.send_header(k, v)
                self.end_headers()
                if method == "GET":
                    self.wfile.write(body)

        self._listen(Handler)
