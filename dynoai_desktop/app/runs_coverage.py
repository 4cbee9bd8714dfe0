"""Coverage of runs picked in the run library: counted from their files on the open tune's VE
tables, on the spot, and not kept in the catalog (the vehicle's coverage is; see
``coverage_session``). The Coverage panel shows it in place of the vehicle's."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from dynoai_desktop.core.autotune.settings import AutotuneSettings
from dynoai_desktop.core.coverage.grid import CoverageAxes, VehicleCoverage, run_coverage
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.table import Table
from dynoai_desktop.storage.run_files import read_run_arrays

RUNS_NAMED = 3
"""How many of the runs shown the headline names."""


@dataclass(frozen=True, eq=False)
class RunsShown:
    """The coverage of some runs, with their names and what could not be counted."""

    names: tuple[str, ...]
    coverage: VehicleCoverage
    problems: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """The headline's name: Run 'pull 3', or 4 runs ('pull 1', 'pull 2', 'pull 3', …)."""
        if len(self.names) == 1:
            return f"Run '{self.names[0]}'"
        listed = ", ".join(f"'{n}'" for n in self.names[:RUNS_NAMED])
        more = ", …" if len(self.names) > RUNS_NAMED else ""
        return f"{len(self.names)} runs ({listed}{more})"


def count_runs(paths: Sequence[Path], names: Sequence[str],
               tables: Mapping[str, tuple[Table, str]], settings: AutotuneSettings,
               channels: Sequence[str] | None = None) -> RunsShown:
    """Each run file's coverage of ``tables`` (coverage key -> (table, its cylinder)), summed;
    ``channels``: read only these (None: all). A file that cannot be read is named in
    ``problems`` and the others still count."""
    coverage, problems = VehicleCoverage(), []
    for path, name in zip(paths, names, strict=True):
        try:
            columns, _meta = read_run_arrays(path, channels)
            for key, (table, cylinder) in tables.items():
                axes = CoverageAxes.of_table(table)
                if axes.load_channel in columns:
                    coverage.add(key, str(path), run_coverage(columns, axes, cylinder, settings,
                                                              f"run '{name}'"))
        except (InputError, OSError) as exc:
            problems.append(f"Run '{name}' was not counted: {exc}")
    return RunsShown(tuple(names), coverage, tuple(problems))
