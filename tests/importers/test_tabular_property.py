"""Property tests of the tabular (CSV) reader: round trips and no crash on arbitrary bytes."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orgnet.exceptions import InputError
from orgnet.importers.orgchart import import_orgchart
from orgnet.importers.tabular import read_table

HEADERS = ["employee_id", "full_name", "work_email", "manager_employee_id", "team"]
cell = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r"),
    max_size=30,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(st.lists(cell, min_size=5, max_size=5), min_size=1, max_size=12))
def test_csv_round_trip_keeps_every_cell(rows: list[list[str]]) -> None:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(HEADERS)
    writer.writerows(rows)
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "t.csv"
        p.write_text(buf.getvalue(), encoding="utf-8", newline="")
        table = read_table(p)
    expected = [r for r in rows if any(c.strip() for c in r)]
    assert table.headers == HEADERS
    assert table.bad_rows == []
    got = [[row.cells[h] or "" for h in HEADERS] for row in table.rows]
    assert got == [[c if c.strip() else "" for c in r] for r in expected]
    # Line numbers are increasing and start after the header.
    lines = [row.line for row in table.rows]
    assert lines == sorted(lines) and (not lines or lines[0] >= 2)


@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=400))
def test_arbitrary_bytes_never_crash_the_orgchart_importer(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "chart.csv"
        p.write_bytes(b"employee_id,full_name,work_email,manager_employee_id,team\n" + data)
        try:
            r = import_orgchart(p, as_of=None)
        except InputError:
            return
        assert r.counts.read >= r.counts.rejected
        assert r.counts.read == len(r.record_status) - r.record_status.count("derived")
