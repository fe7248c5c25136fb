"""`python -m kpi_catalog` writes the generated files; `--check` only reports stale ones (exit 1)."""

from __future__ import annotations

import argparse
import sys

from kpi_catalog.generate import ROOT, CatalogError, load, stale, write


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kpi_catalog", description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if a generated file is out of date")
    args = parser.parse_args(argv)
    try:
        catalog = load()
    except CatalogError as error:
        print(f"kpi catalog: {error}", file=sys.stderr)
        return 2
    if args.check:
        paths = stale(catalog)
        for path in paths:
            print(f"out of date: {path.relative_to(ROOT)} (run `make catalog`)", file=sys.stderr)
        return 1 if paths else 0
    for path in write(catalog):
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
