"""Long-running fuzzing of every orgnet parser entry point (see fuzz/README.md).

Two engines:

- ``--engine atheris`` (coverage-guided libFuzzer through atheris, when it is installed):
  the first input byte picks the target, the rest is the input.
- ``--engine random`` (default when atheris is missing): a plain loop of byte-level and
  structure-aware JSON mutations of the seeds and the regression corpus.

Either way an input that makes an importer raise anything but ``InputError`` is saved to
``fuzz/corpus/<target>/crash-<sha1>`` (replayed by tests/test_hostile_inputs.py from then on) and
printed with its traceback.

Examples::

    .venv/bin/python fuzz/fuzz_parsers.py --seconds 300                 # all targets, random
    .venv/bin/python fuzz/fuzz_parsers.py --target slack_zip --iterations 20000
    .venv/bin/python fuzz/fuzz_parsers.py --engine atheris -- -max_total_time=600
    .venv/bin/python fuzz/fuzz_parsers.py --write-seeds                 # (re)write seed corpus
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
import tempfile
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from targets import (
    CORPUS,
    TARGETS,
    Target,
    mutate_bytes,
    mutate_json,
    seeds_of,
)

from orgnet.exceptions import InputError

#: Hostile seeds written by --write-seeds, per target family.
_JSON_HOSTILE = {
    "nested": b'{"data": ' + b"[" * 5000 + b"]" * 5000 + b"}\n",
    "nan": b'{"data": {"number": NaN}, "category": "pull_request"}\n',
    "dupkeys": b'{"data": {}, "data": {"a": 1}}\n',
    "wrongtypes": b'{"data": [], "category": 7, "updated_on": "x", "uuid": {}}\n[1,2]\n"s"\nnull\n',
    "badutf8": b'{"data": {"title": "\xff\xfe"}}\n',
    "bom": b"\xef\xbb\xbf" + b'{"type": "version", "version": 1}\n',
}
_TEXT_HOSTILE = {
    "badutf8": b"employee_id,full_name\nE1,\xff\xfe\xc3\x28\n",
    "ansi": b"employee_id,full_name,work_email\nE1,\x1b[31mAna\x1b[0m,a@x.example\n",
    "formula": b'person_id,source,handle\nE1,github,"=HYPERLINK(""http://x"")"\n',
    "nul": b"a\x00b\nc,d\x00\n",
    "crlf": b"employee_id,full_name\r\nE1,Ana\r\n\r\n",
    "empty": b"",
}


#: (target, exception type) of crashes found, reported and not yet fixable here (they need
#: orgnet/importers/_io.py and tabular.py): counted, not saved again.
KNOWN_OPEN: set[tuple[str, str]] = set()  # every crash found so far is fixed
known_open_hits = 0


def save_crash(target: Target, data: bytes) -> Path:
    folder = CORPUS / target.name
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"crash-{hashlib.sha1(data).hexdigest()[:16]}"
    path.write_bytes(data)
    return path


def run_one(target: Target, data: bytes, workdir: Path) -> bool:
    """True when the target kept its contract on ``data``."""
    try:
        target.run(data, workdir)
    except InputError:
        return True
    except Exception as exc:
        if (target.name, type(exc).__name__) in KNOWN_OPEN:
            global known_open_hits  # noqa: PLW0603
            known_open_hits += 1
            return True
        path = save_crash(target, data)
        print(f"\nCRASH in {target.name}: saved {path}", file=sys.stderr)
        traceback.print_exc()
        return False
    return True


def random_engine(names: list[str], *, iterations: int, seconds: float, seed: int) -> int:
    rng = random.Random(seed)
    crashes = 0
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="orgnet-fuzz-") as tmp:
        work = Path(tmp)
        pools = {n: seeds_of(TARGETS[n]) for n in names}
        done = 0
        while (iterations and done < iterations) or (seconds and time.monotonic() - started < seconds):
            name = names[done % len(names)]
            target = TARGETS[name]
            base = rng.choice(pools[name])
            if target.json_kind and rng.random() < 0.4:
                data = mutate_json(base, target.json_kind, rng)
            else:
                data = mutate_bytes(base, rng)
            if not run_one(target, data, work / name):
                crashes += 1
            elif rng.random() < 0.02 and len(pools[name]) < 200:
                pools[name].append(data)  # keep some survivors as new seeds
            done += 1
            if done % 500 == 0:
                print(f"{done} inputs, {crashes} crash(es), {time.monotonic() - started:.0f} s",
                      file=sys.stderr)
        print(f"done: {done} inputs over {len(names)} target(s), {crashes} new crash(es), "
              f"{known_open_hits} hit(s) of known open crashes")
    return 1 if crashes else 0


def atheris_engine(names: list[str], argv: list[str]) -> int:
    import importlib
    import pkgutil

    import atheris  # type: ignore[import-not-found]

    # Instrument orgnet's importers only (instrumenting polars too takes minutes).
    import orgnet.importers as pkg

    with atheris.instrument_imports(include=["orgnet"]):
        for mod in pkgutil.iter_modules(pkg.__path__):
            importlib.import_module(f"orgnet.importers.{mod.name}")
        importlib.import_module("orgnet._text")
        importlib.import_module("orgnet.identity")
    work = Path(tempfile.mkdtemp(prefix="orgnet-atheris-"))

    def one_input(data: bytes) -> None:
        if not data:
            return
        target = TARGETS[names[data[0] % len(names)]]
        try:
            target.run(data[1:], work / target.name)
        except InputError:
            return
        except Exception as exc:
            if (target.name, type(exc).__name__) in KNOWN_OPEN:
                return
            save_crash(target, data[1:])
            raise

    atheris.Setup([sys.argv[0], *argv], one_input)
    atheris.Fuzz()
    return 0


def write_seeds() -> None:
    for name, target in TARGETS.items():
        folder = CORPUS / name
        folder.mkdir(parents=True, exist_ok=True)
        hostile = _JSON_HOSTILE if target.json_kind or name.endswith("_zip") else _TEXT_HOSTILE
        for label, data in hostile.items():
            (folder / f"seed-{label}").write_bytes(data)
        if name.endswith("_zip"):
            from targets import zip_seed

            (folder / "seed-valid.zip").write_bytes(zip_seed(name))
            (folder / "seed-truncated.zip").write_bytes(zip_seed(name)[:300])
    print(f"wrote seeds for {len(TARGETS)} targets under {CORPUS}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--target", action="append", choices=sorted(TARGETS),
                        help="fuzz only this target (repeatable; default all)")
    parser.add_argument("--engine", choices=["auto", "atheris", "random"], default="auto")
    parser.add_argument("--iterations", type=int, default=0, help="random engine: inputs to try")
    parser.add_argument("--seconds", type=float, default=0, help="random engine: time budget")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--write-seeds", action="store_true", help="write the seed corpus and exit")
    parser.add_argument("rest", nargs="*", help="atheris/libFuzzer options after --")
    args = parser.parse_args()
    if args.write_seeds:
        write_seeds()
        return 0
    names = sorted(args.target or TARGETS)
    engine = args.engine
    if engine == "auto":
        try:
            import atheris  # type: ignore[import-not-found]  # noqa: F401
        except ImportError:
            engine = "random"
        else:
            engine = "atheris" if not (args.iterations or args.seconds) else "random"
    if engine == "atheris":
        return atheris_engine(names, args.rest)
    if not (args.iterations or args.seconds):
        args.iterations = 2000
    return random_engine(names, iterations=args.iterations, seconds=args.seconds, seed=args.seed)


if __name__ == "__main__":
    sys.exit(main())
