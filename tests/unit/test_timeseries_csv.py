"""The timeseries CSV reader: sniffing planners' files, cleaning chosen columns, refusing with line numbers."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engage_reflex.services import timeseries_csv as tcsv
from engage_reflex.services.errors import EngageError
from engage_reflex.services.timeseries_csv import (
    CsvLayout,
    CsvRefused,
    SeriesChoice,
    clean_csv,
    inspect_csv,
)
from tests.unit.csv_corpus import BAD, hourly, iso_rows, table


def write(tmp_path: Path, content: bytes, name: str = "upload.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def pick(*columns: str) -> list[SeriesChoice]:
    return [SeriesChoice(c, f"series {c}") for c in columns]


def utc(*stamps: str) -> np.ndarray:
    return np.array(stamps, dtype="datetime64[ns]")


def inspect_and_clean(path: Path, *columns: str, **kwargs):
    inspection = inspect_csv(path)
    kwargs.setdefault("time_zone", "UTC")
    if "start" not in kwargs:
        kwargs.setdefault("timestamp_column", inspection.timestamp_column)
    return inspection, clean_csv(path, layout=inspection.layout, series=pick(*columns), **kwargs)


def messages(problems) -> str:
    return "\n".join(p.message for p in problems)


# ------------------------------------------------------------------------------------------- bad files
@pytest.mark.parametrize("case", BAD, ids=[c.name for c in BAD])
def test_bad_file_is_refused_naming_what_and_where(case, tmp_path):
    path = write(tmp_path, case.content)
    with pytest.raises(CsvRefused) as refused:
        if case.clean is None:
            inspect_csv(path)
        else:
            kwargs = dict(case.clean)
            header_row = kwargs.pop("layout_header_row", None)
            layout = inspect_csv(path).layout
            if header_row is not None:
                layout = dataclasses.replace(layout, header_row=header_row)
            clean_csv(path, layout=layout, **kwargs)
    error = refused.value
    said = error.message + "\n" + messages(error.problems)
    for word in case.words:
        assert word in said
    assert error.problems and all(p.refused for p in error.problems)
    if case.row is not None:
        assert case.row in {p.row for p in error.problems}
    assert isinstance(error, EngageError)


def test_bad_corpus_has_at_least_25_distinct_files():
    assert len({c.content for c in BAD}) >= 25


def test_a_file_over_the_limit_is_refused_with_its_size(tmp_path):
    path = tmp_path / "huge.csv"
    with path.open("wb") as handle:
        handle.truncate(250 * 1024 * 1024)  # sparse: no disk used
    with pytest.raises(CsvRefused, match="The file is 250 MB; the limit is 200 MB per file"):
        inspect_csv(path)


def test_every_refused_problem_is_listed_up_to_50_then_counted(tmp_path):
    rows = iso_rows(["x"] * 80)
    path = write(tmp_path, table("time,demand", rows))
    with pytest.raises(CsvRefused) as refused:
        inspect_and_clean(path, "demand")
    problems = refused.value.problems
    assert len(problems) == 51
    assert problems[0].row == 2 and problems[49].row == 51
    assert "30 more problems" in problems[-1].message
    assert refused.value.message.startswith("80 problems were found")


def test_problems_in_several_columns_are_all_reported_together(tmp_path):
    rows = [f"{t},1,2" for t in hourly(4)]
    rows[1] = rows[1].replace(",1,2", ",oops,2")
    rows[3] = rows[3].replace(",1,2", ",1,#N/B")
    path = write(tmp_path, table("time,a,b", rows))
    with pytest.raises(CsvRefused) as refused:
        inspect_and_clean(path, "a", "b")
    found = {(p.row, p.column) for p in refused.value.problems}
    assert found == {(3, "a"), (5, "b")}


def test_rows_with_wrong_field_counts_show_in_the_inspection_before_clean_refuses(tmp_path):
    path = write(tmp_path, table("time,demand", iso_rows(["1", "2", "3,4"])))
    inspection = inspect_csv(path)
    assert [(p.row, p.refused) for p in inspection.problems if p.refused] == [(4, True)]


def test_too_many_series_are_refused(tmp_path):
    path = write(tmp_path, table("time,demand", iso_rows(["1", "2"])))
    choices = [SeriesChoice("demand", f"s{i}") for i in range(tcsv.MAX_SERIES_PER_UPLOAD + 1)]
    with pytest.raises(CsvRefused, match="You chose 101 columns; the limit is 100"):
        clean_csv(path, layout=inspect_csv(path).layout, series=choices, time_zone="UTC", timestamp_column="time")


# ------------------------------------------------------------------------------------ dialects (good)
def test_plain_comma_file_is_sniffed_described_and_cleaned(tmp_path):
    path = write(tmp_path, table("time,demand,site", iso_rows(["1.5,A", "2.5,A", "3,A"])))
    inspection, result = inspect_and_clean(path, "demand")
    assert inspection.layout == CsvLayout("utf-8", ",", ".", 1, False)
    assert [(c.name, c.kind) for c in inspection.columns] == [("time", "timestamp"), ("demand", "number"),
                                                              ("site", "text")]
    assert inspection.columns[1].samples == ("1.5", "2.5", "3")
    assert inspection.data_rows == 3
    assert inspection.preview[0] == ("2024-01-01 00:00", "1.5", "A")
    assert (inspection.timestamp_column, inspection.date_format) == ("time", "ISO 8601")
    assert result.step_minutes == 60 and result.problems == ()
    (demand,) = result.series
    assert demand.name == "series demand" and demand.column == "demand"
    assert demand.values.tolist() == [1.5, 2.5, 3.0]
    assert demand.timestamps.tolist() == utc("2024-01-01T00", "2024-01-01T01", "2024-01-01T02").tolist()


def test_german_excel_export_cp1252_semicolon_decimal_comma_crlf(tmp_path):
    rows = ["31.12.2023 23:00;12,5;0", "01.01.2024 00:00;13,25;0", "01.01.2024 01:00;14;1,5"]
    content = ("Zeit;Last Wärme;PV;\r\n" + "".join(r + ";\r\n" for r in rows)).encode("cp1252")
    path = write(tmp_path, content)
    inspection, result = inspect_and_clean(path, "Last Wärme", "PV", time_zone="Europe/Berlin")
    assert inspection.layout == CsvLayout("cp1252", ";", ",", 1, False)
    assert [c.name for c in inspection.columns] == ["Zeit", "Last Wärme", "PV"]  # trailing ';' is no column
    assert inspection.date_format == "day first (31/12/2024 23:00)"
    last, pv = result.series
    assert last.values.tolist() == [12.5, 13.25, 14.0] and pv.values.tolist() == [0, 0, 1.5]
    assert last.timestamps[0] == np.datetime64("2023-12-31T22:00")


def test_tab_separated_utf8_with_bom(tmp_path):
    content = "\ufefftime\tWindpark Nord\n".encode() + "\n".join(iso_rows(["1", "2"], sep="\t")).encode()
    path = write(tmp_path, content)
    inspection, result = inspect_and_clean(path, "Windpark Nord")
    assert inspection.layout == CsvLayout("utf-8", "\t", ".", 1, True)
    assert inspection.columns[0].name == "time"  # no BOM glued to the first name
    assert result.series[0].values.tolist() == [1.0, 2.0]


def test_a_delimiter_at_the_end_of_every_data_line_is_not_a_column(tmp_path):
    path = write(tmp_path, table("time,demand", [r + "," for r in iso_rows(["1", "2", "3"])]))
    inspection, result = inspect_and_clean(path, "demand")
    assert [c.name for c in inspection.columns] == ["time", "demand"] and not inspection.problems
    assert result.series[0].values.tolist() == [1.0, 2.0, 3.0]


def test_a_windows_character_after_the_sniffed_start_switches_the_file_to_cp1252(tmp_path):
    rows = iso_rows([str(i) for i in range(4000)], sep=";")  # well past the sniffing sample
    last = f"{hourly(4001)[-1]};1;Süd\n".encode("cp1252")
    content = table("time;demand;site", [r + ";Nord" for r in rows]) + last
    path = write(tmp_path, content)
    inspection = inspect_csv(path)
    assert inspection.layout.encoding == "cp1252" and inspection.data_rows == 4001
    result = clean_csv(path, layout=inspection.layout, series=pick("demand"), time_zone="UTC",
                       timestamp_column="time")
    assert len(result.series[0].values) == 4001


def test_title_lines_above_and_units_row_below_the_names_are_skipped(tmp_path):
    content = table("Demand profile 2024;;\nExported by X;;\ntime;demand;pv\n;MW;MW",
                    iso_rows(["1,5;0", "2,5;1"], sep=";"))
    path = write(tmp_path, content)
    inspection, result = inspect_and_clean(path, "demand", "pv")
    assert inspection.layout.header_row == 3 and inspection.layout.decimal == ","
    assert inspection.data_rows == 2 and inspection.preview[0][0] == "2024-01-01 00:00"
    note = next(p for p in result.problems if p.row == 4)
    assert "Line 4" in note.message and "skipped" in note.message and not note.refused
    assert result.series[0].values.tolist() == [1.5, 2.5]


def test_iso_times_with_offsets_are_converted_directly_whatever_the_time_zone(tmp_path):
    rows = ["2024-07-01T00:00:00+02:00,1", "2024-07-01T01:00:00+02:00,2", "2024-07-01T00:00:00Z,3"]
    path = write(tmp_path, table("time,demand", rows))
    _, result = inspect_and_clean(path, "demand", time_zone="America/New_York")
    assert result.series[0].timestamps.tolist() == utc("2024-06-30T22", "2024-06-30T23", "2024-07-01T00").tolist()


def test_naive_iso_times_are_local_time_converted_to_utc(tmp_path):
    path = write(tmp_path, table("time,demand", ["2024-07-01T00:00,1", "2024-07-01T01:00,2"]))
    _, result = inspect_and_clean(path, "demand", time_zone="Europe/Berlin")
    assert result.series[0].timestamps.tolist() == utc("2024-06-30T22:00", "2024-06-30T23:00").tolist()


def test_month_first_with_am_pm_is_recognised(tmp_path):
    rows = ["12/31/2023 10:00 PM,1", "12/31/2023 11:00 PM,2", "1/1/2024 12:00 AM,3", "1/1/2024 1:00 AM,4"]
    path = write(tmp_path, table("time,demand", rows))
    inspection, result = inspect_and_clean(path, "demand")
    assert inspection.date_format == "month first (12/31/2024 11:00 PM)"
    assert result.series[0].timestamps[-1] == np.datetime64("2024-01-01T01:00")


def test_day_or_month_first_ambiguity_prefers_day_first_and_says_so(tmp_path):
    stamps = hourly(30, fmt="%d/%m/%Y %H:%M")  # 01/01 .. 02/01: both readings parse and increase
    path = write(tmp_path, table("time,demand", [f"{t},1" for t in stamps]))
    inspection, result = inspect_and_clean(path, "demand")
    assert inspection.date_format == "day first (31/12/2024 23:00)"
    assert "day first" in messages(inspection.problems)
    assert result.series[0].timestamps[-1] == np.datetime64("2024-01-02T05:00")
    assert len(result.series[0].values) == 30


def test_day_or_month_first_is_settled_by_the_rows_that_only_one_reading_parses(tmp_path):
    stamps = hourly(24 * 14, fmt="%m/%d/%Y %H:%M")  # day 13 does not parse day first
    path = write(tmp_path, table("time,demand", [f"{t},1" for t in stamps]))
    inspection, result = inspect_and_clean(path, "demand")
    assert inspection.date_format == "month first (12/31/2024 11:00 PM)"
    assert "day first" not in messages(result.problems)


def test_excel_serial_days(tmp_path):
    days = [45292 + h / 24 for h in range(4)]
    path = write(tmp_path, table("time;demand", [f"{repr(d).replace('.', ',')};{h},5" for h, d in enumerate(days)]))
    inspection, result = inspect_and_clean(path, "demand")
    assert (inspection.timestamp_column, inspection.date_format) == ("time", "Excel serial days")
    assert result.series[0].timestamps.tolist() == utc(*[f"2024-01-01T{h:02d}:00" for h in range(4)]).tolist()


def test_single_column_with_a_start_date_and_a_blank_line_as_missing_value(tmp_path):
    path = write(tmp_path, b"demand\n1\n2\n\n4\n\n\n")
    inspection, result = inspect_and_clean(path, "demand", start=datetime(2024, 1, 1), step_minutes=30,
                                           time_zone="Europe/Berlin")
    assert [c.kind for c in inspection.columns] == ["number"] and inspection.timestamp_column is None
    assert inspection.data_rows == 4
    (demand,) = result.series
    assert demand.values.tolist() == [1.0, 2.0, 3.0, 4.0]
    assert demand.timestamps[0] == np.datetime64("2023-12-31T23:00") and result.step_minutes == 30
    assert any(p.row == 4 and "interpolation" in p.message for p in result.problems)


def test_single_column_with_decimal_commas_is_not_split_at_the_comma(tmp_path):
    path = write(tmp_path, b"demand\n12,5\n13,5\n")
    inspection, result = inspect_and_clean(path, "demand", start=datetime(2024, 1, 1, tzinfo=timezone.utc))
    assert inspection.layout.decimal == "," and [c.name for c in inspection.columns] == ["demand"]
    assert result.series[0].values.tolist() == [12.5, 13.5]


def test_header_row_override_ignores_the_lines_above(tmp_path):
    path = write(tmp_path, table("time,old name\ntime,demand", iso_rows(["1", "2"])))
    sniffed = inspect_csv(path).layout
    layout = dataclasses.replace(sniffed, header_row=2)
    inspection = inspect_csv(path, layout=layout)
    assert inspection.layout == layout and [c.name for c in inspection.columns] == ["time", "demand"]
    result = clean_csv(path, layout=layout, series=pick("demand"), time_zone="UTC", timestamp_column="time")
    assert result.series[0].values.tolist() == [1.0, 2.0]


def test_a_given_layout_is_used_as_is(tmp_path):
    path = write(tmp_path, table("time;demand", iso_rows(["1,5", "2,5"], sep=";")))
    forced = CsvLayout("utf-8", ";", ".", 1)
    with pytest.raises(CsvRefused, match="'1,5' is not a number with the decimal separator '.'"):
        clean_csv(path, layout=forced, series=pick("demand"), time_zone="UTC", timestamp_column="time")
    assert inspect_csv(path, layout=forced).layout == forced


def test_file_without_header_line_gets_numbered_column_names(tmp_path):
    path = write(tmp_path, "\n".join(iso_rows(["1", "2", "3"])).encode())
    inspection = inspect_csv(path)
    assert inspection.layout.header_row == 0 and inspection.data_rows == 3
    assert [c.name for c in inspection.columns] == ["column_1", "column_2"]
    result = clean_csv(path, layout=inspection.layout, series=pick("column_2"), time_zone="UTC",
                       timestamp_column="column_1")
    assert result.series[0].values.tolist() == [1.0, 2.0, 3.0]


def test_blank_and_duplicate_column_names_are_renamed_with_a_note(tmp_path):
    path = write(tmp_path, table("time,demand,,demand", [r + ",2,3" for r in iso_rows(["1", "2"])]))
    inspection = inspect_csv(path)
    assert [c.name for c in inspection.columns] == ["time", "demand", "column_3", "demand_2"]
    said = messages(inspection.problems)
    assert "Column 3 has no name; it is shown as 'column_3'" in said
    assert "Column 4 has the same name 'demand' as column 2; it is shown as 'demand_2'" in said


def test_quoted_names_and_cells_with_line_breaks_keep_line_numbers_right(tmp_path):
    content = table('"time","demand, MW","comment"', ['2024-01-01 00:00,1,"two\nlines"', "2024-01-01 01:00,2,x",
                                                       "2024-01-01 02:00,bad,x"])
    path = write(tmp_path, content)
    inspection = inspect_csv(path)
    assert [c.name for c in inspection.columns] == ["time", "demand, MW", "comment"]
    with pytest.raises(CsvRefused) as refused:
        clean_csv(path, layout=inspection.layout, series=pick("demand, MW"), time_zone="UTC",
                  timestamp_column="time")
    assert [p.row for p in refused.value.problems] == [5]  # the record on lines 2-3 counts as two lines


def test_old_mac_line_endings_count_as_lines(tmp_path):
    path = write(tmp_path, table("time,demand", iso_rows(["1", "x", "3"]), newline="\r"))
    with pytest.raises(CsvRefused) as refused:
        inspect_and_clean(path, "demand")
    assert [p.row for p in refused.value.problems] == [3]


def test_autumn_repeated_hour_is_read_in_order(tmp_path):
    stamps = ["2024-10-27 01:00", "2024-10-27 02:00", "2024-10-27 02:00", "2024-10-27 03:00"]
    path = write(tmp_path, table("time,demand", [f"{t},{i}" for i, t in enumerate(stamps)]))
    _, result = inspect_and_clean(path, "demand", time_zone="Europe/Berlin")
    assert result.series[0].timestamps.tolist() == utc("2024-10-26T23", "2024-10-27T00", "2024-10-27T01",
                                                       "2024-10-27T02").tolist()
    note = next(p for p in result.problems if "clocks go back" in p.message)
    assert note.row == 3 and "Lines 3–4" in note.message and not note.refused


def test_spring_change_in_a_local_time_file_without_the_missing_hour_is_fine(tmp_path):
    stamps = ["2024-03-31 00:00", "2024-03-31 01:00", "2024-03-31 03:00", "2024-03-31 04:00"]
    path = write(tmp_path, table("time,demand", [f"{t},{i}" for i, t in enumerate(stamps)]))
    _, result = inspect_and_clean(path, "demand", time_zone="Europe/Berlin")
    assert len(result.series[0].values) == 4 and result.problems == ()


def test_missing_time_steps_are_filled_by_interpolation_with_a_note(tmp_path):
    rows = ["2024-01-01 00:00,0", "2024-01-01 01:00,10", "2024-01-01 04:00,40", "2024-01-01 05:00,50"]
    path = write(tmp_path, table("time,demand", rows))
    _, result = inspect_and_clean(path, "demand")
    assert result.series[0].values.tolist() == [0, 10, 20, 30, 40, 50]
    assert len(result.series[0].timestamps) == 6
    assert "Lines 3 and 4: 2 missing time steps" in messages(result.problems)


def test_fifteen_minute_steps(tmp_path):
    stamps = pd.date_range("2024-01-01", periods=8, freq="15min").strftime("%Y-%m-%d %H:%M")
    path = write(tmp_path, table("time,demand", [f"{t},1" for t in stamps]))
    assert inspect_and_clean(path, "demand")[1].step_minutes == 15


def test_empty_and_na_cells_are_interpolated_and_ends_take_the_nearest_value(tmp_path):
    values = ["", "NA", "2", "N/A", "NaN", "-", "null", "6", "", ""]
    path = write(tmp_path, table("time,demand", iso_rows(values)))
    _, result = inspect_and_clean(path, "demand")
    np.testing.assert_allclose(result.series[0].values, [2, 2, 2, 2.8, 3.6, 4.4, 5.2, 6, 6, 6])
    said = {p.row: p.message for p in result.problems}
    assert "at the start of the file; filled with the first value (line 4)" in said[2]
    assert "Lines 5–8" in said[5] and "interpolation between lines 4 and 9" in said[5]
    assert "at the end of the file" in said[10]


def test_trailing_blank_lines_and_delimiter_only_rows_are_ignored(tmp_path):
    path = write(tmp_path, table("time;demand", iso_rows(["1", "2"], sep=";") + [";", ";;;", "", ""]))
    inspection, result = inspect_and_clean(path, "demand")
    assert inspection.data_rows == 2 and not inspection.problems
    assert result.series[0].values.tolist() == [1.0, 2.0]


def test_a_blank_line_between_rows_is_skipped_with_a_note(tmp_path):
    rows = iso_rows(["1", "2", "3"])
    path = write(tmp_path, table("time,demand", rows[:2] + [""] + rows[2:]))
    inspection, result = inspect_and_clean(path, "demand")
    assert inspection.data_rows == 3
    assert "Line 4 empty; skipped." in messages(result.problems)


def test_thousands_separators_are_mentioned_in_the_inspection(tmp_path):
    path = write(tmp_path, table("time;demand", iso_rows(["1.234,5", "2.345,5"], sep=";")))
    assert "thousands separator" in messages(inspect_csv(path).problems)


def test_progress_rises_to_one(tmp_path):
    path = write(tmp_path, table("time,demand", iso_rows([str(i) for i in range(50_000)])))
    seen: list[float] = []
    inspection = inspect_csv(path, progress=seen.append)
    clean_seen: list[float] = []
    clean_csv(path, layout=inspection.layout, series=pick("demand"), time_zone="UTC", timestamp_column="time",
              progress=clean_seen.append)
    for values in (seen, clean_seen):
        assert values == sorted(values) and values[-1] == 1.0 and len(values) >= 2


def test_a_year_of_hours_by_fifty_columns(tmp_path):
    stamps = pd.date_range("2024-01-01", periods=8760, freq="h")
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(rng.random((8760, 50)).round(6), index=stamps, columns=[f"node_{i}" for i in range(50)])
    frame.index.name = "time"
    path = tmp_path / "year.csv"
    frame.to_csv(path, date_format="%Y-%m-%d %H:%M")
    inspection, result = inspect_and_clean(path, *frame.columns)
    assert inspection.data_rows == 8760 and len(inspection.columns) == 51
    assert len(result.series) == 50 and result.problems == ()
    for column in result.series:
        np.testing.assert_allclose(column.values, frame[column.column].to_numpy())
    assert (result.series[7].timestamps == stamps.to_numpy()).all()


# --------------------------------------------------------------------------------------- robustness
def _clean_anything(path: Path) -> None:
    inspection = inspect_csv(path)
    names = [c.name for c in inspection.columns]
    if inspection.timestamp_column and len(names) > 1:
        choices = [n for n in names if n != inspection.timestamp_column][: tcsv.MAX_SERIES_PER_UPLOAD]
        clean_csv(path, layout=inspection.layout, series=pick(*choices), time_zone="Europe/Berlin",
                  timestamp_column=inspection.timestamp_column)
    else:
        clean_csv(path, layout=inspection.layout, series=pick(*names[:tcsv.MAX_SERIES_PER_UPLOAD]),
                  time_zone="Europe/Berlin", start=datetime(2024, 1, 1))


_CELL = st.one_of(
    st.sampled_from(["", "1", "2,5", "3.5", "NA", "-", "inf", "abc", '"q"', '"a,b"', "1.234,5", "#DIV/0!",
                     "2024-01-01 00:00", "31.12.2024 23:00", "12/31/2024 11:00 PM", "45292,5", "2024-03-31 02:30",
                     "2024-10-27T02:00+01:00", "1e400", '"', "\u00e4"]),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=6),
)
_LINES = st.lists(st.lists(_CELL, min_size=0, max_size=5).map(lambda cells: st_join(cells)), max_size=12)


def st_join(cells: list[str]) -> str:
    return ",".join(cells) if len(cells) % 2 else ";".join(cells)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.binary(max_size=300))
def test_random_bytes_are_read_or_refused_never_crash(content, tmp_path):
    path = write(tmp_path, content, "random.bin")
    try:
        _clean_anything(path)
    except CsvRefused:
        pass


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=_LINES, newline=st.sampled_from(["\n", "\r\n", "\r"]), encoding=st.sampled_from(["utf-8", "cp1252"]))
def test_random_csv_like_text_is_read_or_refused_never_crash(lines, newline, encoding, tmp_path):
    content = newline.join(lines).encode(encoding, errors="replace")
    path = write(tmp_path, content, "random.csv")
    try:
        _clean_anything(path)
    except CsvRefused:
        pass
