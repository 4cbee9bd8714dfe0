"""The tune being worked on: its tables, undo/redo of whole edits, versions in the catalog.

One history for the whole app: the table editor's keys change the tune through
:meth:`TuneSession.edit`, autotune and every other overlay through :meth:`apply_overlay` (the
rules of :mod:`~dynoai_desktop.core.overlay` under the settings' authority limits); one undo step
per user action however many cells it moved. Manual edits collect until :meth:`save_version`
records them in the catalog as one version (the editor calls it when the tuner saves or switches
table), so the catalog is not filled with a version per keypress; an applied overlay is a version
of its own, its note naming its source and the limits it was applied under. Nothing applied is
ever lost.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import numpy as np

from dynoai_desktop.app.events import Event
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.overlay import (
    AuthorityLimits,
    Overlay,
    OverlayPreview,
    OverlayRecord,
    OverlaySource,
    apply,
    overlay_from_changes,
    preview,
)
from dynoai_desktop.core.table import Table
from dynoai_desktop.core.tune import VE_FRONT_MAP, ChangeSource, Tune, TuneHistory
from dynoai_desktop.storage.catalog import Catalog
from dynoai_desktop.storage.tune_files import (
    no_tables_message,
    read_table,
    read_tune,
    write_table,
)


@dataclass(frozen=True)
class Edit:
    """One user action on the tune: the tune before and after it, and what it was."""

    before: Tune
    after: Tune
    description: str
    made_by: ChangeSource


def _now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


MAX_NOTED_EDITS = 5  # a grouped version's note names the last few edits


class TuneSession:
    """The current tune, its catalog id, its undo/redo stacks; ``changed`` after every change.

    ``limits`` gives the authority limits overlays are applied under (the app passes the
    settings' ``authority``, read at each use); defaults without it."""

    def __init__(self, catalog: Catalog | None,
                 limits: Callable[[], AuthorityLimits] | None = None) -> None:
        self.catalog = catalog
        self._limits = limits if limits is not None else AuthorityLimits
        self.tune: Tune = Tune(tables={})
        self.tune_id: int | None = None  # the catalog's id once the tune is kept there
        self.label = "No tune open: Open tune… reads a Power Vision .pvv, a TunerStudio .msq or a "\
            "Table CSV."  # where the tune came from, in words
        self.version = 0  # increases with every change (panels compare it)
        self._undo: list[Edit] = []
        self._redo: list[Edit] = []
        self._recorded: Tune = self.tune  # the tune as the catalog's newest version holds it
        self._pending: list[Edit] = []  # what was done since the newest version, for its note
        self.changed = Event("tune changed")

    # ------------------------------------------------------------------ opening
    def show(self, tune: Tune, label: str) -> None:
        """Work on ``tune`` without keeping it in the catalog yet (the demo's base map)."""
        self._start(tune, label, None)

    def open_file(self, path: Path) -> None:
        """Open the tune in ``path`` (.pvv, .msq or Table CSV) and keep it in the catalog as
        version 1 (an import). InputError naming the file when it cannot be used."""
        tune = read_tune(path)
        if not tune.tables:
            raise InputError(no_tables_message(path))
        tune_id = None
        if self.catalog is not None:
            tune_id = self.catalog.add_tune(path.name, tune, _now())
        self._start(tune, f"{path} ({len(tune.tables)} tables)", tune_id)

    def _start(self, tune: Tune, label: str, tune_id: int | None) -> None:
        self.tune, self.label, self.tune_id = tune, label, tune_id
        self._undo.clear()
        self._redo.clear()
        self._pending.clear()
        self._recorded = tune if tune_id is not None else Tune(tables={})
        self._changed()

    # ------------------------------------------------------------------ reading
    @property
    def table_names(self) -> list[str]:
        return list(self.tune.tables)

    def table(self, name: str) -> Table:
        return self.tune.table(name)

    @property
    def coverage_table(self) -> Table | None:
        """The table whose grid live coverage counts in: VE front (MAP), else the first."""
        if VE_FRONT_MAP in self.tune.tables:
            return self.tune.tables[VE_FRONT_MAP]
        return next(iter(self.tune.tables.values()), None)

    # ------------------------------------------------------------------ editing
    def edit(self, table: Table, description: str,
             made_by: ChangeSource = ChangeSource.MANUAL_EDIT) -> int:
        """Put ``table`` in under its name as one undoable step; its locked cells keep their
        values whatever ``table`` holds there. Returns how many changed cells the locks held."""
        if table.name not in self.tune.tables:
            raise InputError(f"the tune has no table {table.name!r} to edit")
        current = self.tune.tables[table.name]
        held = 0
        if table.shape == current.shape:
            locked = self.tune.locked_mask(table.name)
            moved = locked & (table.values != current.values)
            held = int(moved.sum())
            if held:
                table = table.with_values(np.where(locked, current.values, table.values))
        if table == current:
            return held
        self._push(self.tune.with_table(table), description, made_by)
        return held

    def set_locked(self, name: str, mask: np.ndarray, locked: bool) -> int:
        """Lock (or unlock) the cells of ``mask`` in table ``name``: one undoable step.
        Returns how many cells changed state."""
        current = self.tune.locked_mask(name)
        wanted = current | mask if locked else current & ~np.asarray(mask, dtype=bool)
        changed = int((wanted != current).sum())
        if changed:
            verb = "lock" if locked else "unlock"
            self._push(self.tune.with_locked(name, wanted),
                       f"{verb} {changed} cell{'s' if changed != 1 else ''} of {name}",
                       ChangeSource.MANUAL_EDIT)
        return changed

    def _push(self, after: Tune, description: str, made_by: ChangeSource) -> None:
        edit = Edit(self.tune, after, description, ChangeSource(made_by))
        self._undo.append(edit)
        self._redo.clear()
        self._moved_to(after, edit)

    def _moved_to(self, tune: Tune, edit: Edit) -> None:
        self.tune = tune
        if self.unsaved:
            self._pending.append(edit)
        else:  # back where the newest version is: nothing to note
            self._pending.clear()
        self._changed()

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    @property
    def undo_text(self) -> str:
        return self._undo[-1].description if self._undo else ""

    @property
    def redo_text(self) -> str:
        return self._redo[-1].description if self._redo else ""

    def undo(self) -> None:
        if not self._undo:
            return
        edit = self._undo.pop()
        self._redo.append(edit)
        self._moved_to(edit.before, Edit(edit.after, edit.before, f"undo {edit.description}",
                                         ChangeSource.MANUAL_EDIT))

    def redo(self) -> None:
        if not self._redo:
            return
        edit = self._redo.pop()
        self._undo.append(edit)
        self._moved_to(edit.after, replace(edit, description=f"redo {edit.description}"))

    # ------------------------------------------------------------------ overlays
    @property
    def limits(self) -> AuthorityLimits:
        """The authority limits overlays are applied under now."""
        return self._limits()

    def preview_overlay(self, overlay: Overlay, selection: np.ndarray | None = None
                        ) -> OverlayPreview:
        """What applying ``overlay`` (only ``selection`` of its cells, when given) to the tune
        would do, cell by cell, under the current limits."""
        return preview(self.tune, overlay, self.limits, selection)

    def apply_overlay(self, overlay: Overlay, selection: np.ndarray | None = None,
                      knock_prone: np.ndarray | None = None) -> OverlayRecord:
        """Apply ``overlay`` (only ``selection`` of its cells, when given) under the current
        limits as one undoable step, and keep it in the catalog as a version of its own (edits
        not saved yet become the version before it). Nothing changed (every cell held): no
        step, no version. Returns the record either way.

        ``knock_prone`` (timing advice): cells of the overlay's table to mark knock-prone in
        the same step, before the overlay's rules are applied (so they hold them)."""
        start = self.tune
        if knock_prone is not None:
            marked = start.knock_prone_mask(overlay.table) | np.asarray(knock_prone, dtype=bool)
            if (marked != start.knock_prone_mask(overlay.table)).any():
                start = start.with_knock_prone(overlay.table, marked)
        after, record = apply(start, overlay, self.limits, selection, _now())
        if after is self.tune:
            return record
        if self.catalog is not None and self.unsaved and self.tune.tables:
            self.save_version()  # pending manual edits: a version of their own
        self._push(after, record.undo_text, record.made_by)
        if self.catalog is not None:
            self.save_version(record.note)
        return record

    def apply_overlays(self, overlays: Sequence[Overlay]) -> list[OverlayRecord]:
        """Apply several overlays (front and rear, say) under the current limits as **one**
        undoable step, kept as one version whose note has each table's record. Overlays that
        change nothing leave no trace; none changing anything: no step, no version."""
        when = _now()
        tune, records, changed = self.tune, [], []
        for overlay in overlays:
            after, record = apply(tune, overlay, self.limits, None, when)
            records.append(record)
            if after is not tune:
                changed.append(record)
                tune = after
        if not changed:
            return records
        if self.catalog is not None and self.unsaved and self.tune.tables:
            self.save_version()  # pending manual edits: a version of their own
        cells = sum(r.cells_changed for r in changed)
        limited = sum(r.cells_limited for r in changed)
        text = (f"{changed[0].source} overlay: {cells} cell{'s' if cells != 1 else ''} in "
                f"{len(changed)} table{'s' if len(changed) != 1 else ''}"
                + (f", {limited} limited" if limited else ""))
        self._push(tune, text, changed[0].made_by)
        if self.catalog is not None:
            self.save_version(" | ".join(r.note for r in changed))
        return records

    # ------------------------------------------------------------------ versions
    @property
    def unsaved(self) -> bool:
        """True when the tune differs from its newest version in the catalog."""
        return self.tune != self._recorded

    def save_version(self, note: str = "") -> int | None:
        """Record the tune as it is now as one version in the catalog (its first, for a tune
        not kept yet); returns the version number, or None when there was nothing new."""
        if self.catalog is None:
            raise InputError("the catalog is not open, so versions cannot be kept; "
                             "see the message at start-up")
        if not self.unsaved or not self.tune.tables:
            return None
        pending = self._pending
        made_by = pending[-1].made_by if pending else ChangeSource.MANUAL_EDIT  # the last step
        if not note:
            said = "; ".join(e.description for e in pending[-MAX_NOTED_EDITS:])
            more = len(pending) - MAX_NOTED_EDITS
            note = f"{len(pending)} edits, the last {MAX_NOTED_EDITS}: {said}" if more > 0 \
                else said
        if self.tune_id is None:
            self.tune_id = self.catalog.add_tune(self.label, self.tune, _now(), note)
            number = 1
        else:
            number = self.catalog.record_version(self.tune_id, self.tune, made_by, _now(), note)
        self._recorded = self.tune
        self._pending.clear()
        self._changed()
        return number

    def version_for_run(self, session_id: int) -> int | None:
        """The version a run of session ``session_id`` records on: the tune as it is now, kept
        as a version first when the catalog does not hold it yet (so a saved session names the
        tables it ran on); the session is tied to this tune at its first run. None: no tune
        open, no catalog, or the session already runs another tune."""
        if self.catalog is None or not self.tune.tables:
            return None
        session = self.catalog.session(session_id)
        if session.tune_id is not None and session.tune_id != self.tune_id:
            return None
        if self.unsaved or self.tune_id is None:
            self.save_version(note="" if self._pending else "the tune as a run started")
        assert self.tune_id is not None
        if session.tune_id is None:
            self.catalog.set_session_tune(session_id, self.tune_id)
        return self.catalog.newest_version(self.tune_id)

    def history(self) -> TuneHistory | None:
        """Every version of the tune kept in the catalog, oldest first (None: not kept)."""
        if self.catalog is None or self.tune_id is None:
            return None
        return self.catalog.history(self.tune_id)

    def restore_version(self, number: int) -> None:
        """Make version ``number``'s tables current again: recorded as a new version (nothing
        is lost) and one undoable step."""
        if self.catalog is None or self.tune_id is None:
            raise InputError("this tune is not kept in the catalog yet, so it has no versions "
                             "to restore; save a version first")
        if self.unsaved:
            self.save_version()
        restored = self.catalog.restore(self.tune_id, number, _now())
        after = replace(self.tune, tables=dict(restored.tables))
        self._recorded = after  # the catalog holds it already, as the newest version
        self._push(after, f"restore version {number}", ChangeSource.RESTORE)

    def overlay_from_file(self, path: Path, name: str) -> Overlay:
        """A manual overlay for table ``name`` from a table of changes in ``path`` (a Table CSV
        on the same axes: VE in %, AFR and spark in their units; zero cells left alone)."""
        changes = read_table(path, None if path.suffix.lower() == ".csv" else name)
        return overlay_from_changes(self.table(name), changes, OverlaySource.MANUAL,
                                    f"changes from {path.name}")

    def export_table(self, name: str, out: Path, template: Path | None) -> None:
        """Write table ``name`` as Table CSV, or spliced into a copy of a .pvv/.msq template."""
        write_table(out, self.table(name), template, None)

    def _changed(self) -> None:
        self.version += 1
        self.changed.emit()
