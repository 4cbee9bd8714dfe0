"""Log mode: run the cell with no ports and turn its device bytes into Log CSV rows.

The bytes go through the same codecs the app reads real devices with, and the readings through
the same row rule the app's live merger applies (``core.rows``), so a logged row holds exactly
what a client decodes from the served stream (FORMATS.md §4: "values decoded from the served
stream equal the logged rows within the codec's resolution"). Times are the cell's own.
"""

from __future__ import annotations

from dynoai_desktop.core.channels import LOG_COLUMNS
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
