"""Log mode: run the cell with no ports and turn its device bytes into Log CSV rows.

The bytes go through the same codecs the app reads real devices with, and the readings through
the same row rule the app's live merger applies (``core.rows``), so a logged row holds exactly
what a client decodes from the served stream (FORMATS.md §4: "values decoded from the served
stream equal the logged rows within the codec's resolution"). Times are the cell's own.
"""

from __future__ import annotations

from collections.abc import Callable

from dynoai_desktop.core.channels import LOG_COLUMNS
from dynoai_desktop.core.power import power_hp
from dynoai_desktop.core.rows import RowAssembler, RowBlock
from dynoai_desktop.devices.registry import device_registry
from dynoai_desktop.sim.cell import VirtualCell
from dynoai_desktop.sim.emitters import decoder_options

CHUNK_S = 1.0
MAX_PLAN_S = 24 * 3600.0


def run_log(cell: VirtualCell, duration_s: float | None) -> RowBlock:
    """Rows for the whole plan (once), or for ``duration_s`` of sim time if given."""
    registry = device_registry()
    decoders = {}
    for device in cell.devices:
        kind = registry.get(device.protocol)
        decoder = kind.make_decoder(kind.resolve_options(decoder_options(device)))
        decoder.feed(cell.greeting(device.name))
        decoders[device.name] = decoder
    rule = RowAssembler(LOG_COLUMNS, pacer="dyno")
    blocks = []
    end = duration_s if duration_s is not None else MAX_PLAN_S
    while cell.time_s < end - 1e-9 and not (duration_s is None and cell.runner.finished):
        for emission in cell.advance(min(end, cell.time_s + CHUNK_S)):
            readings = decoders[emission.device].feed(emission.data)
            if readings:
                blocks.append(rule.add(emission.device, [emission.time_s] * len(readings),
                                       [r.values for r in readings]))
    return RowBlock.concat(blocks, LOG_COLUMNS)


# ----------------------------------------------------------------------------- direct values
DYNO = "dyno"


def run_log_direct(cell: VirtualCell, duration_s: float | None) -> RowBlock:
    """The rows :func:`run_log` gives, without putting the dyno line into bytes and reading them
    back (see :class:`DirectLog`)."""
    return DirectLog(cell).run(duration_s)


class DirectLog:
    """Log mode for long simulated sessions (``dynoai simulate-shop``), about a sixth faster.

    Each dyno frame's values are rounded to the decimals its field is sent with, which is exactly
    what the dyno line's decoder reads from the frame (``float`` of the ``%.Nf`` text); the
    widebands still go through their codecs (a few frames a second). Rows are assembled by the
    same row rule, in the same order, so :meth:`run` gives :func:`run_log`'s rows (a test holds
    the two paths equal row for row, tests/test_simulate_shop.py). One ``DirectLog`` kept across
    several plans is one acquisition that never stopped, as the app's is while it records run
    after run: the row rule and the decoders carry on (a plan's first row is not a wideband
    reading alone).

    Only a cell with the dyno line first and its frames made by ``VirtualCell._dyno_frame``'s
    rule (read-out noise on rpm, MAP and torque) qualifies: that rule is mirrored here.
    """

    def __init__(self, cell: VirtualCell) -> None:
        registry = device_registry()
        self.cell = cell
        self.decoders = {}
        for device in cell.devices[1:]:
            kind = registry.get(device.protocol)
            decoder = kind.make_decoder(kind.resolve_options(decoder_options(device)))
            decoder.feed(cell.greeting(device.name))
            self.decoders[device.name] = decoder
        if cell.devices[0].name != DYNO:
            raise ValueError("DirectLog needs the dyno line as the cell's first device")
        self.rule = RowAssembler(LOG_COLUMNS, pacer=DYNO)
        self._values = _dyno_values(cell)

    def run(self, duration_s: float | None) -> RowBlock:
        """Rows for the cell's plan (once), or for ``duration_s`` more of sim time if given."""
        cell, rule, decoders = self.cell, self.rule, self.decoders
        dyno = cell._emitters[0]  # noqa: SLF001 - the dyno line's emitter (devices[0])
        frame = dyno.encode
        dyno.encode = self._values  # type: ignore[assignment]
        blocks = []
        try:
            end = cell.time_s + duration_s if duration_s is not None else MAX_PLAN_S
            while cell.time_s < end - 1e-9 and not (duration_s is None and cell.runner.finished):
                device, times, readings = "", [], []
                for emission in cell.advance(min(end, cell.time_s + CHUNK_S)):
                    if emission.device != device and times:
                        blocks.append(rule.add(device, times, readings))
                        times, readings = [], []
                    device = emission.device
                    if device == DYNO:
                        times.append(emission.time_s)
                        readings.append(emission.data)
                    else:
                        got = decoders[device].feed(emission.data)
                        times += [emission.time_s] * len(got)
                        readings += [r.values for r in got]
                if times:
                    blocks.append(rule.add(device, times, readings))
        finally:
            dyno.encode = frame  # type: ignore[method-assign]
        return RowBlock.concat([b for b in blocks if len(b)], LOG_COLUMNS)


def _dyno_values(cell: VirtualCell) -> Callable[[float], dict[str, float]]:
    """A dyno frame as the values its decoder reads: VirtualCell._dyno_frame's noise, then each
    field at its decimals (an empty field, NaN, is left out as the decoder leaves it out).

    ``round(x, N)`` is the decoder's ``float`` of the frame's ``%.Nf`` text, at half the cost:
    both round the exact binary value to N decimals (half to even) and read that back.
    """
    fields = [(name, places) for name, places in cell._dyno_fields  # noqa: SLF001
              if name != "time_s"]
    noise = cell._rng_dyno.gauss  # noqa: SLF001

    def values(t: float) -> dict[str, float]:
        v = dict(cell.values)
        v["rpm"] += noise(0.0, 1.5)
        v["map_kpa"] += noise(0.0, 0.15)
        if v["torque_ftlb"] > 0:
            v["torque_ftlb"] = max(0.0, v["torque_ftlb"] + noise(0.0, 0.3))
            v["power_hp"] = power_hp(v["torque_ftlb"], v["rpm"])
        return {name: round(v[name], places) for name, places in fields if v[name] == v[name]}

    return values
