"""The anomaly check of the training records (docs/models.md, "Session anomaly check"): the
detector's verdict on each kept record, asked once per record and kept until the detector
changes. ``app.training_session`` keeps a flagged record out of the dataset unless the tuner
uses it anyway."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from dynoai_desktop.app.training_jobs import Kept
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.ml.anomaly import by_vehicle, others_of_vehicle
from dynoai_desktop.ml.training.records import TuningSession

Flagger = Callable[[TuningSession, Sequence[TuningSession]], list[str]]
"""The anomaly detector's verdict on a record, given the same vehicle's other records: why it
should not train a model (empty: nothing wrong found)."""


class AnomalyScreen:
    """The verdicts of one detector (``flagger``; None: nothing is flagged) on kept records.
    ``on_failure`` hears, once per record, why the detector could not judge it."""

    def __init__(self, on_failure: Callable[[str], None]) -> None:
        self.flagger: Flagger | None = None
        self._on_failure = on_failure
        self._flags: dict[tuple[str, int], tuple[str, ...]] = {}  # (key, id(record)) -> flags
        self._grouping: tuple[list[TuningSession], dict[str, list[TuningSession]]] | None = None

    def set_flagger(self, flagger: Flagger | None) -> None:
        """Judge by ``flagger`` from now on: every record is asked again."""
        self.flagger = flagger
        self._flags.clear()

    def flags(self, kept: Kept, records: Callable[[], list[TuningSession]]) -> tuple[str, ...]:
        """Why ``kept`` should not train a model (``records``: every kept record, the same
        vehicle's among them)."""
        if self.flagger is None or kept.record is None:
            return ()
        key = (kept.key, id(kept.record))
        if key not in self._flags:
            record = kept.record
            try:
                self._flags[key] = tuple(self.flagger(record,
                                                      self._same_vehicle(record, records())))
            except InputError as exc:  # no usable detector: say so once per record
                self._flags[key] = ()
                self._on_failure(f"The anomaly check could not run: {exc}")
        return self._flags[key]

    def _same_vehicle(self, record: TuningSession, records: list[TuningSession]
                      ) -> list[TuningSession]:
        """The other records of ``record``'s vehicle (the records grouped once per set of
        records, not scanned again for each one)."""
        held = self._grouping
        if held is None or len(held[0]) != len(records) or any(
                a is not b for a, b in zip(held[0], records, strict=True)):
            held = self._grouping = (records, by_vehicle(records))
        return others_of_vehicle(record, held[1])
