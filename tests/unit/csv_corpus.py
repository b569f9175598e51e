"""Timeseries CSVs as planners upload them: good ones in every dialect, and bad ones.

Each `Bad` case is one mistake. `clean` holds the clean_csv arguments (None: inspect_csv already refuses);
`words` must all appear in the refusal message or one of its problems, so the planner learns the line,
the column and what was wrong.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime


def hourly(n: int, start: str = "2024-01-01 00:00", fmt: str = "%Y-%m-%d %H:%M") -> list[str]:
    import pandas as pd

    return [t.strftime(fmt) for t in pd.date_range(start, periods=n, freq="h")]


def table(header: str, rows: list[str], newline: str = "\n") -> bytes:
    return (newline.join([header, *rows]) + newline).encode()


def iso_rows(values: list[str], sep: str = ",", start: str = "2024-01-01 00:00") -> list[str]:
    return [f"{t}{sep}{v}" for t, v in zip(hourly(len(values), start), values)]


@dataclasses.dataclass(frozen=True)
class Bad:
    name: str
    content: bytes
    words: tuple[str, ...]
    clean: dict | None = None  # None: inspect_csv refuses
    row: int | None = None  # a problem must name this line


TS = {"timestamp_column": "time", "time_zone": "UTC"}


def series(*columns: str) -> dict:
    from engage_reflex.services.timeseries_csv import SeriesChoice

    return {"series": [SeriesChoice(c, c) for c in columns]}


BAD: list[Bad] = [
    Bad("empty", b"", ("This file is empty",)),
    Bad("only_blank_lines", b"\n\n  \n\r\n", ("This file is empty",)),
    Bad("only_header", b"time,demand\n", ("only a header", "line 1")),
    Bad("only_header_and_blank_lines", b"time,demand\n\n\n", ("only a header", "line 1")),
    Bad("nul_bytes", b"time,demand\n2024-01-01 00:00,1\n2024-01-01 01:00,\x00\x00\n", ("binary bytes at line 3",),
        row=3),
    Bad("png_file", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", ("does not look like a text CSV",)),
    Bad("utf16", "time\tdemand\n2024-01-01 00:00\t1\n".encode("utf-16"), ("UTF-16",)),
    Bad("too_many_fields", table("time,demand", iso_rows(["1", "2", "3,4", "5"])), ("Line 4 has 3 fields",
        "line 1", "have 2"), {**TS, **series("demand")}, row=4),
    Bad("too_few_fields", table("time,demand,pv", [r + ",1" for r in iso_rows(["1", "2"])] + ["2024-01-01 02:00,3"]),
        ("Line 4 has 2 fields",), {**TS, **series("demand")}, row=4),
    Bad("unit_in_value", table("time,demand", iso_rows(["1", "12 kW", "3"])), ("Line 3", "'demand'", "'12 kW'",
        "not a number"), {**TS, **series("demand")}, row=3),
    Bad("excel_error", table("time;demand", iso_rows(["1", "2", "#DIV/0!"], sep=";")), ("Line 4", "'demand'",
        "'#DIV/0!'"), {**TS, **series("demand")}, row=4),
    Bad("word_in_value", table("time,demand,pv", [r + ",1" for r in iso_rows(["1", "abc", "3"])]),
        ("Line 3", "'demand'", "'abc'"), {**TS, **series("demand", "pv")}, row=3),
    Bad("infinite", table("time,demand", iso_rows(["1", "inf", "3"])), ("Line 3", "'inf'", "not a finite number"),
        {**TS, **series("demand")}, row=3),
    Bad("overflowing_number", table("time,demand", iso_rows(["1", "1e400", "3"])), ("Line 3", "not a finite"),
        {**TS, **series("demand")}, row=3),
    Bad("thousands_separator", table("time;demand", iso_rows(["1,5", "1.234,5", "2,5"], sep=";")),
        ("Line 3", "'1.234,5'", "thousands separators are not supported"), {**TS, **series("demand")}, row=3),
    Bad("comma_in_dot_file", table("time;demand", iso_rows(["1.5", "2,5", "2.5", "3.5"], sep=";")),
        ("Line 3", "'2,5'", "decimal separator '.'"), {**TS, **series("demand")}, row=3),
    Bad("unreadable_time", table("time,demand", iso_rows(["1", "2"]) + ["yesterday,3"]),
        ("Line 4", "'yesterday'", "'time'", "not a date and time"), {**TS, **series("demand")}, row=4),
    Bad("empty_time", table("time,demand", iso_rows(["1", "2"]) + [",3", "2024-01-01 03:00,4"]),
        ("Line 4", "time in column 'time' is empty"), {**TS, **series("demand")}, row=4),
    Bad("duplicate_time", table("time,demand", ["2024-01-01 00:00,1", "2024-01-01 01:00,2", "2024-01-01 01:00,3",
        "2024-01-01 02:00,4"]), ("Line 4 has the same time as line 3", "2024-01-01 01:00"),
        {**TS, **series("demand")}, row=4),
    Bad("not_in_order", table("time,demand", ["2024-01-01 00:00,1", "2024-01-01 02:00,2", "2024-01-01 01:00,3",
        "2024-01-01 03:00,4"]), ("Line 4", "earlier than line 3", "time order"), {**TS, **series("demand")}, row=4),
    Bad("irregular_step", table("time,demand", ["2024-01-01 00:00,1", "2024-01-01 01:00,2", "2024-01-01 01:37,3",
        "2024-01-01 02:00,4", "2024-01-01 03:00,5"]), ("Line 4 is 37 minutes after line 3", "60 minutes apart"),
        {**TS, **series("demand")}, row=4),
    Bad("spring_forward_gap", table("time,demand", iso_rows(["1", "2", "3", "4"], start="2024-03-31 00:00")),
        ("Line 4", "2024-03-31 02:00", "does not exist in Europe/Berlin"),
        {**TS, "time_zone": "Europe/Berlin", **series("demand")}, row=4),
    Bad("mixed_offsets", table("time,demand", ["2024-01-01T00:00+01:00,1", "2024-01-01T01:00,2",
        "2024-01-01T02:00+01:00,3"]), ("Line 3", "has no UTC offset"), {**TS, **series("demand")}, row=3),
    Bad("empty_column", table("time,demand,pv", [r + "," for r in iso_rows(["1", "2", "3"])]),
        ("Column 'pv' has no values",), {**TS, **series("demand", "pv")}),
    Bad("unknown_column", table("time,demand", iso_rows(["1", "2"])), ("There is no column 'wind'",),
        {**TS, **series("wind")}),
    Bad("unknown_time_zone", table("time,demand", iso_rows(["1", "2"])), ("'Mars/Olympus' is not a time zone",),
        {**TS, "time_zone": "Mars/Olympus", **series("demand")}),
    Bad("no_times_chosen", table("demand", ["1", "2"]), ("Choose the column that holds the times",),
        {"time_zone": "UTC", **series("demand")}),
    Bad("times_column_of_text", table("time,demand", ["a,1", "b,2"]), ("Column 'time' does not hold dates",),
        {**TS, **series("demand")}),
    Bad("impossible_day_month", table("time,demand", ["01/01/2024 00:00,1", "01/01/2024 01:00,2",
        "13/13/2024 02:00,3"]), ("Line 4", "'13/13/2024 02:00'"), {**TS, **series("demand")}, row=4),
    Bad("unbalanced_quote", table("time,demand", iso_rows(["1", '"2', "3", "4"])), ("Line 3",),
        {**TS, **series("demand")}, row=3),
    Bad("start_in_spring_gap", table("demand", ["1", "2"]), ("The start 2024-03-31 02:30 does not exist",),
        {"time_zone": "Europe/Berlin", "start": datetime(2024, 3, 31, 2, 30), **series("demand")}),
    Bad("huge_gap", table("time,demand", ["2024-01-01 00:00,1", "2024-01-01 00:01,2", "2024-03-01 00:00,3"]),
        ("time steps are missing", "too many"), {**TS, **series("demand")}),
    Bad("seconds_step", table("time,demand", ["2024-01-01 00:00:00,1", "2024-01-01 00:00:30,2",
        "2024-01-01 00:01:00,3"]), ("30 seconds apart", "whole minutes"), {**TS, **series("demand")}),
    Bad("header_row_on_blank_line", b"title\n\ntime,demand\n2024-01-01 00:00,1\n", ("Line 2 is empty",),
        {**TS, **series("demand"), "layout_header_row": 2}, row=2),
    Bad("repeated_hour_three_times", table("time,demand", ["2024-10-27 01:00,1", "2024-10-27 02:00,2",
        "2024-10-27 02:00,3", "2024-10-27 02:00,4", "2024-10-27 03:00,5"]), ("Line 5 has the same time as line",),
        {**TS, "time_zone": "Europe/Berlin", **series("demand")}, row=5),
]
