"""Every map as Prometheus metrics, read at scrape time (docs/prometheus.md).

`serve(source, host, port) -> Server` is the one entry point (the CLI's `--prometheus`,
the REPL's `.serve` and the Python API call it); `MapSource` is what it reads.
Importing this package imports prometheus_client; the CLI imports it only when asked.
"""

from __future__ import annotations

from pytrace.prometheus.address import AddressError, parse_address
from pytrace.prometheus.collector import DEFAULT_MAX_KEYS, MapCollector, MapSource
from pytrace.prometheus.server import Server, serve
from pytrace.prometheus.sources import CliExporter, engine_source, repl_source, session_source

__all__ = [
    "DEFAULT_MAX_KEYS",
    "AddressError",
    "CliExporter",
    "MapCollector",
    "MapSource",
    "Server",
    "engine_source",
    "parse_address",
    "repl_source",
    "serve",
    "session_source",
]
