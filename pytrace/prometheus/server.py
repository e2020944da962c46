"""The /metrics HTTP endpoint: `serve(source, host, port) -> Server`.

The page is rendered by prometheus_client's MetricsHandler (text format or OpenMetrics
as the scraper asks, gzip when accepted) over a registry holding the MapCollector and
the process collector (`process_*`: pytrace's own CPU and memory). The HTTP server is the
standard library's, serving from a daemon thread with a short poll interval so that
`close()` returns promptly; close() detaches the collector first, so no scrape reads a
map after it returns.
"""

from __future__ import annotations

import socket
import socketserver
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from prometheus_client import CollectorRegistry, ProcessCollector
from prometheus_client.exposition import MetricsHandler

from pytrace.prometheus.address import DEFAULT_HOST
from pytrace.prometheus.collector import (
    DEFAULT_MAX_KEYS,
    MapCollector,
    MapSource,
    Warn,
    stderr_warning,
)
from pytrace.runtime.errors import RuntimeFailure

__all__ = ["Server", "serve"]

POLL_INTERVAL = 0.1


class _HTTPServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A scraper that hangs up mid-answer is not worth a traceback."""


@dataclass
class Server:
    """A running /metrics endpoint; `close()` (idempotent) stops it and frees the port."""

    collector: MapCollector
    httpd: _HTTPServer
    thread: threading.Thread
    closed: bool = field(default=False)

    @property
    def host(self) -> str:
        return str(self.httpd.server_address[0])

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    def attach(self, source: MapSource) -> None:
        """Serve `source` from the next scrape on (for a server started before its maps)."""
        self.collector.attach(source)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.collector.detach()  # after this no scrape reads a map
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


def _bind(host: str, port: int, handler: type[BaseHTTPRequestHandler]) -> _HTTPServer:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, _, _, _, sockaddr = infos[0]
    except (socket.gaierror, IndexError) as exc:
        raise RuntimeFailure(f"cannot serve Prometheus metrics on {host}:{port}: {exc}") from None

    class Bound(_HTTPServer):
        address_family = family

    try:
        return Bound((str(sockaddr[0]), int(sockaddr[1])), handler)
    except OSError as exc:
        raise RuntimeFailure(f"cannot serve Prometheus metrics on {host}:{port}: "
                             f"{exc.strerror or exc}") from None


def serve(source: MapSource | None, host: str = DEFAULT_HOST, port: int = 0, *,
          max_keys: int = DEFAULT_MAX_KEYS, warn: Warn = stderr_warning) -> Server:
    """Serve the maps of `source` on http://HOST:PORT/metrics until `close()`.

    source None: no maps until `Server.attach(source)` (bind the port first, fail early).

    Raises RuntimeFailure (one clear line) when the address cannot be bound. This is the
    entry point for the CLI, the REPL's `.serve` and the Python API.
    """
    collector = MapCollector(source, max_keys, warn)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    registry.register(ProcessCollector(registry=None))
    httpd = _bind(host, port, MetricsHandler.factory(registry))
    thread = threading.Thread(target=httpd.serve_forever, args=(POLL_INTERVAL,),
                              name="pytrace-prometheus", daemon=True)
    thread.start()
    return Server(collector, httpd, thread)
