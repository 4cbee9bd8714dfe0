"""Write the generic base VE maps the shop generator starts each session from.

    .venv/bin/python scripts/make_base_maps.py [--out resources/base_maps] [--check]

One pair of Table CSV files per engine family and stage,
``resources/base_maps/<family>_stage<k>_{front,rear}.csv``, made from the build mapping's median
bike of that family and stage (``sim.shop.generic_base_map``: the median build's nominal engine,
no bike scatter, sea level, in 0.5 % steps). ``dynoai simulate-shop`` reads the shipped files; run
this again only when the build mapping or the mix's median builds change. ``--check`` writes
nothing and exits 1 when a shipped file differs from what would be written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dynoai_desktop.core.build_spec import STAGE_MAX, EngineFamily  # noqa: E402
from dynoai_desktop.core.table_csv import format_table_csv  # noqa: E402
from dynoai_desktop.sim.shop import base_map_names, generic_base_map, median_build  # noqa: E402
from dynoai_desktop.storage.file_io import write_bytes_atomic  # noqa: E402
from dynoai_desktop.storage.resources import BASE_MAPS_DIR  # noqa: E402


def base_map_texts() -> dict[str, str]:
    """File name -> Table CSV text, for every family and stage."""
    out = {}
    for family in EngineFamily:
        for stage in range(STAGE_MAX + 1):
            build = median_build(family, stage)
            tables = generic_base_map(family, stage)
            for name, table in zip(base_map_names(family, stage), tables, strict=True):
                text = format_table_csv(table)
                out[name] = (f"# generic base map for {build.summary}; made by "
                             "scripts/make_base_maps.py from the median bike\n" + text)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=BASE_MAPS_DIR, metavar="DIR",
                        help=f"where to write them (default {BASE_MAPS_DIR})")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a file in --out differs")
    args = parser.parse_args()
    texts = base_map_texts()
    if args.check:
        stale = [name for name, text in texts.items()
                 if not (args.out / name).is_file()
                 or (args.out / name).read_text(encoding="utf-8") != text]
        for name in stale:
            print(f"make_base_maps: {args.out / name} is missing or out of date")
        print(f"make_base_maps: {len(texts) - len(stale)} of {len(texts)} files up to date")
        return 1 if stale else 0
    args.out.mkdir(parents=True, exist_ok=True)
    for name, text in texts.items():
        write_bytes_atomic(args.out / name, text.encode("utf-8"))
    print(f"make_base_maps: wrote {len(texts)} files to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
