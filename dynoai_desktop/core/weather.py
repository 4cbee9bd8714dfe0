"""The dyno cell's air: what the weather station reads and the correction factor it gives.

One ``Weather`` for the whole app: the virtual cell is configured with one, the dyno line reports
its readings, a recorded run keeps one in its metadata and the catalog. A reading that was not
measured is None. ``correction_factor`` is the factor as the dyno reported it (a run's record);
:meth:`Weather.of_air` fills it with SAE J1349 from the air (shared/reference/vtwin.md §6).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.power import dry_air_pressure_kpa, sae_j1349_factor


@dataclass(frozen=True)
class Weather:
    """Barometer, air temperature, humidity and the SAE J1349 factor; None = not measured."""

    baro_kpa: float | None = None
    ambient_temp_c: float | None = None
    humidity_pct: float | None = None
    correction_factor: float | None = None

    @classmethod
    def of_air(cls, baro_kpa: float, ambient_temp_c: float, humidity_pct: float) -> Weather:
        """Measured air, with its SAE J1349 correction factor computed."""
        for name, value in (("baro_kpa", baro_kpa), ("ambient_temp_c", ambient_temp_c),
                            ("humidity_pct", humidity_pct)):
            if not math.isfinite(value):
                raise InputError(f"weather {name} = {value!r} must be a finite number")
        if baro_kpa <= 0:
            raise InputError(f"weather baro_kpa = {baro_kpa:g} must be above 0 kPa")
        return cls(baro_kpa, ambient_temp_c, humidity_pct,
                   sae_j1349_factor(baro_kpa, ambient_temp_c, humidity_pct))

    @property
    def measured(self) -> bool:
        """True when barometer, temperature and humidity are all known."""
        return None not in (self.baro_kpa, self.ambient_temp_c, self.humidity_pct)

    @property
    def dry_fraction(self) -> float:
        """Dry-air share of the barometric pressure (needs the measured air)."""
        baro, temp, humidity = self._air()
        return dry_air_pressure_kpa(baro, temp, humidity) / baro

    def _air(self) -> tuple[float, float, float]:
        if not self.measured:
            raise InputError(f"{self}: barometer, temperature and humidity are all needed here")
        assert self.baro_kpa is not None and self.ambient_temp_c is not None
        assert self.humidity_pct is not None
        return float(self.baro_kpa), float(self.ambient_temp_c), float(self.humidity_pct)


CELL_AIR = Weather.of_air(100.5, 25.0, 40.0)
"""A mild day in the cell: the virtual dyno's default air."""
