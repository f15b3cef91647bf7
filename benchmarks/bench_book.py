"""How much does execution caching save when the book is rebuilt?

Builds the book exactly as ``make book`` does (``jupyter-book build . -W -n --keep-going``)
twice, in a fresh copy of the repository:

1. cold: no ``_build`` folder, so every chapter is executed;
2. cached: after a prose edit to one chapter (its code unchanged), so Sphinx re-reads that
   page and myst-nb takes its outputs from the jupyter cache instead of running it.

Prints both wall times and their ratio, and the machine's load average before and after each
build (other processes on a shared machine slow a build down; say so when reporting). The
targets: a cold build within 3 minutes on 2 cores, cached <= 0.2 x cold.

    .venv/bin/python benchmarks/bench_book.py [--chapter book/04_variants.md] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# A clean copy of the repository and the build as `make book` runs it are the tests' helpers.
sys.path.insert(0, str(REPO / "tests"))
from helpers import build_book, copy_clean_tree  # noqa: E402

TARGET_RATIO = 0.2
TARGET_COLD_SECONDS = 180


def load() -> str:
    """The 1-minute load average and the number of cores, e.g. 'load 3.1 on 2 cores'."""
    return f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"


def build(root: Path) -> float:
    """Build the book in ``root``; return wall seconds. Exits if the build fails."""
    book = build_book(root, timeout=None)
    if book.returncode != 0:
        sys.exit(f"build failed in {root} (exit {book.returncode}):\n{book.log[-6000:]}")
    return book.seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chapter", default="book/04_variants.md",
                        help="page whose prose is edited before the cached rebuild")
    parser.add_argument("--keep", action="store_true", help="keep the temporary copy")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="bench_book_"))
    root = workdir / "repo"
    try:
        copy_clean_tree(REPO, root)
        chapter = root / args.chapter
        if not chapter.is_file():
            parser.error(f"{args.chapter} is not a file of the repository")
        print(f"cold build in {root} (executes every chapter; {load()}) ...", flush=True)
        cold = build(root)
        cold_verdict = "meets" if cold <= TARGET_COLD_SECONDS else "MISSES"
        print(f"  cold:   {cold:7.1f} s ({cold_verdict} the target <= {TARGET_COLD_SECONDS} s; "
              f"{load()} at the end)", flush=True)

        # A prose edit: the page must be re-read, but its code (and so its cache key) is unchanged.
        chapter.write_text(chapter.read_text(encoding="utf-8") + "\n", encoding="utf-8")
        print(f"cached rebuild after editing {args.chapter} ({load()}) ...", flush=True)
        cached = build(root)
        ratio = cached / cold
        print(f"  cached: {cached:7.1f} s ({load()} at the end)")
        verdict = "meets" if ratio <= TARGET_RATIO else "MISSES"
        print(f"ratio cached/cold = {ratio:.3f} ({verdict} the target <= {TARGET_RATIO})")
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps({"cold_seconds": cold, "cached_seconds": cached,
                                             "ratio": ratio, "chapter": args.chapter,
                                             "load_average_at_end": os.getloadavg()[0],
                                             "cores": os.cpu_count()}, indent=2))
        return 0 if ratio <= TARGET_RATIO else 1
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
