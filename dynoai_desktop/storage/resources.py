"""Files shipped with the app under ``resources/`` (base tables, demo build specs)."""

from __future__ import annotations

from pathlib import Path

from dynoai_desktop.core.table import Table
from dynoai_desktop.storage.table_files import read_table_csv

# resources/ sits beside the package in a checkout; an installer bundle puts it in the same place.
RESOURCES_DIR = Path(__file__).resolve().parents[2] / "resources"
DEMO_TABLES = ("ve_front_map.csv", "ve_rear_map.csv")


def demo_base_tables() -> tuple[list[Table], str]:
    """The demo base VE tables (front, rear) and a line saying where they came from."""
    folder = RESOURCES_DIR / "tables"
    tables = [read_table_csv(folder / name) for name in DEMO_TABLES]
    return tables, f"Demo base map (Twin Cam 103 class, generated; not from a real bike): {folder}"


BASE_MAPS_DIR = RESOURCES_DIR / "base_maps"


def base_map_tables(family: str, stage: int) -> tuple[Table, Table]:
    """The shipped generic base VE maps (front, rear) for an engine family (its BuildSpec value,
    "twin_cam_103") at ``stage`` (0 stock ... 4): ``resources/base_maps/<family>_stage<k>_*.csv``.
    """
    names = (f"{family}_stage{stage}_front.csv", f"{family}_stage{stage}_rear.csv")
    front, rear = (read_table_csv(BASE_MAPS_DIR / name) for name in names)
    return front, rear
