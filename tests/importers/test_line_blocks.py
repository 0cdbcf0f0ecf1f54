"""``iter_line_blocks`` reads the same records as the line-by-line ``iter_raw_lines``."""

from __future__ import annotations

import gzip
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orgnet.importers._io import JsonRecordError, iter_line_blocks, iter_raw_lines

LINES = st.lists(st.one_of(
    st.sampled_from([b"", b"  ", b"\t", b"{}", b'{"a":1}', b"x" * 7, b"y" * 12, b"\r"]),
    st.binary(max_size=20).filter(lambda b: b"\n" not in b)), max_size=30)


def _flat(records: list[tuple[int, bytes | JsonRecordError]]) -> list[tuple[int, bytes | str]]:
    return [(n, r if isinstance(r, bytes) else str(r)) for n, r in records]


def _blocks(path: Path, limit: int, block: int) -> list[tuple[int, bytes | str]]:
    out = []
    for recs in iter_line_blocks(path, max_line_bytes=limit, block_bytes=block):
        assert recs
        for n, r, nl in recs:
            out.append((n, r + b"\n" if isinstance(r, bytes) and nl else r))
    return _flat(out)


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=LINES, end=st.booleans(), limit=st.integers(1, 16), block=st.integers(1, 40),
       gz=st.booleans())
def test_blocks_match_lines(tmp_path: Path, lines: list[bytes], end: bool, limit: int,
                            block: int, gz: bool) -> None:
    data = b"\n".join(lines) + (b"\n" if end and lines else b"")
    path = tmp_path / ("x.jsonl.gz" if gz else "x.jsonl")
    path.write_bytes(gzip.compress(data) if gz else data)
    want = _flat(list(iter_raw_lines(path, max_line_bytes=limit)))
    assert _blocks(path, limit, block) == want


def test_truncated_gzip_is_the_last_record(tmp_path: Path) -> None:
    data = gzip.compress(b"".join(b'{"n":%d}\n' % i for i in range(2000)))
    path = tmp_path / "x.jsonl.gz"
    path.write_bytes(data[: len(data) // 2])
    want = _flat(list(iter_raw_lines(path)))
    assert isinstance(list(iter_raw_lines(path))[-1][1], JsonRecordError)
    assert _blocks(path, 1 << 20, 4096) == want
