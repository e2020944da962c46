"""tseries() charts: the reference's examples, byte for byte, and the JSON records."""

from __future__ import annotations

import calendar
import time
from collections.abc import Iterator

import pytest

from pytrace.output.json import map_record
from pytrace.output.text import format_map
from pytrace.output.tseries import format_tseries, interval_label
from pytrace.types import AggT
from pytrace.values import MapEntry, MapSnapshot, TimeSeries

MS = 1_000_000


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def start(hms: str, ms: int) -> int:
    h, m, s = (int(x) for x in hms.split(":"))
    return (calendar.timegm((2025, 1, 1, h, m, s)) * 1000 + ms) * MS


def series(first: int, values: list[int | None]) -> TimeSeries:
    return TimeSeries(100 * MS, tuple((first + i * 100 * MS, v) for i, v in enumerate(values)))


ZIGZAG = """\
@:
             -5                                                  5
hh:mm:ss.ms  |___________________________________________________|
10:39:49.300 *                         .                         | -5
10:39:49.400 |    *                    .                         | -4
10:39:49.500 |         *               .                         | -3
10:39:49.600 |              *          .                         | -2
10:39:49.700 |                   *     .                         | -1
10:39:49.800 |                         *                         | 0
10:39:49.900 |                         .    *                    | 1
10:39:50.000 |                         .         *               | 2
10:39:50.100 |                         .              *          | 3
10:39:50.200 |                         .                   *     | 4
10:39:50.300 |                         .                         * 5
10:39:50.400 |                         .                   *     | 4
             v___________________________________________________v
             -5                                                  5

"""

MINIMA = """\
@:
             0                                                   2
hh:mm:ss.ms  |___________________________________________________|
10:41:46.700 *                                                   | 0
10:41:46.800 |                         *                         | 1
10:41:46.900 |                                                   * 2
             v___________________________________________________v
             0                                                   2

"""


def snap(ts: TimeSeries, key: tuple[object, ...] | None = None) -> MapSnapshot:
    return MapSnapshot("@", AggT("tseries", interval=ts.interval, buckets=20),
                       [MapEntry(key, ts)])


def test_zigzag_chart_of_the_reference() -> None:
    ts = series(start("10:39:49", 300), [-5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 4])
    assert format_map(snap(ts)) == ZIGZAG


def test_values_without_a_zero_line() -> None:
    assert format_map(snap(series(start("10:41:46", 700), [0, 1, 2]))) == MINIMA


def test_intervals_without_data_and_a_flat_series() -> None:
    out = format_tseries(series(start("00:00:00", 0), [3, None, 3]))
    rows = out.splitlines()
    # a flat series is drawn between value-1 and value+1, a missing interval shows "-"
    assert rows[0] == " " * 13 + "2" + " " * 51 + "4"
    assert rows[2] == "00:00:00.000 |" + " " * 25 + "*" + " " * 25 + "| 3"
    assert rows[3] == "00:00:00.100 |" + " " * 51 + "| -"


def test_time_column_follows_the_interval_unit() -> None:
    secs = TimeSeries(1_000_000_000, ((start("00:00:00", 0), 1),
                                      (start("00:00:01", 0), 2)))
    rows = format_tseries(secs).splitlines()
    assert rows[1] == "hh:mm:ss |" + "_" * 51 + "|"
    assert rows[2].startswith("00:00:00 *")
    us = TimeSeries(1000, ((start("00:00:00", 0), 1), (start("00:00:00", 0) + 1000, 2)))
    rows = format_tseries(us).splitlines()
    assert rows[1] == "hh:mm:ss.μs    |" + "_" * 51 + "|"
    assert rows[3].startswith("00:00:00.000001 |")


def test_interval_label_is_local_time_with_milliseconds() -> None:
    assert interval_label(start("23:59:59", 999)) == "23:59:59.999"


def test_json_record_lists_the_intervals_with_data() -> None:
    first = start("10:00:00", 0)
    rec = map_record(snap(series(first, [1, None, -2]), ("k",)))
    assert rec == ('{"type": "tseries", "data": {"@": {"k": [{"interval_start":'
                   '"2025-01-01T10:00:00.000000000","value":1},{"interval_start":'
                   '"2025-01-01T10:00:00.200000000","value":-2}]}}}\n')
