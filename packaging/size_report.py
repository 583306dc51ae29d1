"""Size of a PyInstaller one-folder build, per top-level folder of its ``_internal/`` (or of
a macOS bundle's ``Contents/Frameworks/`` and ``Contents/Resources/``).

    python packaging/size_report.py dist/hourglass-pose [--before OTHER_BUILD]
        [--archive dist/hourglass-pose-X-linux-x86_64.tar.gz] [--limit-mib 800] [--markdown]

Sizes are the bytes of regular files (links count nothing) in MiB (2**20 bytes, as ``du -sm``).
Loose shared libraries at the top of ``_internal/`` are one row.  With ``--before``, a second
build (e.g. an untrimmed one) gives a before column.  ``--limit-mib`` makes the report fail
(exit 1) when the folder is larger: packaging/build.py uses it, so that a new dependency cannot
quietly bloat the download.  Dangling links fail it too.  Needs only the standard library.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from pathlib import Path

MIB = 2**20
LOOSE = "(loose shared libraries)"
SMALL = "(other small entries)"


def file_sizes(folder: Path) -> dict[Path, int]:
    sizes = {}
    for dirpath, _, filenames in os.walk(folder):
        for name in filenames:
            path = Path(dirpath, name)
            if not path.is_symlink():
                sizes[path.relative_to(folder)] = path.stat().st_size
    return sizes


# Where PyInstaller puts all but the executable: _internal/ of a one-folder build, or a macOS
# bundle's Frameworks/ (code) and Resources/ (data; the two link to each other's files).
LIBRARY_FOLDERS = (("_internal",), ("Contents", "Frameworks"), ("Contents", "Resources"))
SHARED_LIBRARY_MARKS = (".so", ".dll", ".pyd", ".dylib")


def row(parts: tuple[str, ...]) -> str:
    """The report row of a file: the executable, a folder of the libraries, or loose files."""
    for prefix in LIBRARY_FOLDERS:
        inner = parts[len(prefix):]
        if parts[:len(prefix)] == prefix and inner:
            if len(inner) > 1:
                return inner[0] + "/"
            return LOOSE if any(mark in inner[0] for mark in SHARED_LIBRARY_MARKS) else inner[0]
    if len(parts) == 1 or parts[:2] == ("Contents", "MacOS"):
        return f"{parts[-1]} (the executable)"
    return "/".join(parts)  # a bundle's own files: Info.plist, its code signature


def group(build: Path) -> Counter:
    """Bytes per row: the executable, each folder of the libraries, loose files there."""
    rows: Counter = Counter()
    for path, size in file_sizes(build).items():
        rows[row(path.parts)] += size
    return rows


def fold_small(builds: list[Counter]) -> list[Counter]:
    """Rows under 0.1 MiB in every build (dist-info folders, tiny packages) become one row."""
    names = set().union(*builds)
    small = {n for n in names if all(build.get(n, 0) < MIB / 10 for build in builds)}
    folded = []
    for build in builds:
        kept = Counter({n: size for n, size in build.items() if n not in small})
        if small & set(build):
            kept[SMALL] = sum(size for n, size in build.items() if n in small)
        folded.append(kept)
    return folded


def dangling_links(build: Path) -> list[Path]:
    return [Path(dirpath, name).relative_to(build)
            for dirpath, dirnames, filenames in os.walk(build)
            for name in filenames + dirnames
            if Path(dirpath, name).is_symlink() and not Path(dirpath, name).exists()]


def mib(size: int) -> str:
    return f"{size / MIB:,.1f}"


def table(builds: list[Counter], markdown: bool) -> list[str]:
    headers = ["folder", "before (MiB)", "after (MiB)"] if len(builds) == 2 else ["folder", "MiB"]
    names = sorted(set().union(*builds), key=lambda n: (n == SMALL, -max(b.get(n, 0)
                                                                        for b in builds)))
    rows = [[name] + [mib(b[name]) if name in b else "-" for b in builds] for name in names]
    rows.append(["total"] + [mib(sum(b.values())) for b in builds])
    if markdown:
        lines = ["| " + " | ".join(headers) + " |", "| --- " + "| ---: " * (len(headers) - 1) + "|"]
        for row in rows:
            name = row[0] if row[0] == "total" or row[0].startswith("(") else (
                f"`{row[0].split()[0]}` {' '.join(row[0].split()[1:])}".strip())
            lines.append("| " + " | ".join([name, *row[1:]]) + " |")
        return lines
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]
    return ["  ".join(cell.ljust(width) if i == 0 else cell.rjust(width)
                      for i, (cell, width) in enumerate(zip(row, widths, strict=True)))
            for row in [headers, *rows]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("build", type=Path, help="the one-folder build, e.g. dist/hourglass-pose, "
                        "or a macOS bundle")
    parser.add_argument("--before", type=Path, help="another build to compare with")
    parser.add_argument("--archive", type=Path, help="also print this archive's size")
    parser.add_argument("--limit-mib", type=float, help="fail if the folder is larger")
    parser.add_argument("--markdown", action="store_true", help="a Markdown table")
    parser.add_argument("--largest", type=int, default=8, help="list the N largest files")
    args = parser.parse_args(argv)
    for folder in (args.build, args.before):
        if folder is not None and not folder.is_dir():
            parser.error(f"{folder} is not a folder")

    builds = [group(args.before)] if args.before else []
    builds = fold_small([*builds, group(args.build)])
    print("\n".join(table(builds, args.markdown)))

    sizes = file_sizes(args.build)
    if args.largest:
        print(f"\nlargest files in {args.build}:")
        for path, size in sorted(sizes.items(), key=lambda item: -item[1])[:args.largest]:
            print(f"  {mib(size):>7}  {path}")

    total = sum(sizes.values())
    print(f"\nfolder   {args.build}: {mib(total)} MiB ({total / 1e6:,.1f} MB)")
    if args.archive:
        size = args.archive.stat().st_size
        print(f"archive  {args.archive}: {mib(size)} MiB ({size / 1e6:,.1f} MB)")

    status = 0
    for link in dangling_links(args.build):
        print(f"error: dangling link {link}", file=sys.stderr)
        status = 1
    if args.limit_mib is not None and total > args.limit_mib * MIB:
        print(f"error: the folder is {mib(total)} MiB, over the limit of {args.limit_mib:,.0f} "
              f"MiB", file=sys.stderr)
        status = 1
    return status


if __name__ == "__main__":
    raise SystemExit(main())
