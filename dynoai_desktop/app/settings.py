"""The one owner of the settings file: everything that changes a setting goes through here."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from dynoai_desktop.app.events import Event
from dynoai_desktop.storage.settings import Settings, SettingsStore


class AppSettings:
    """The current :class:`Settings`, saved on every change; ``changed`` carries the new ones."""

    def __init__(self, store: SettingsStore) -> None:
        self.store = store
        self.current: Settings = store.load()
        self.problem: str | None = store.problem  # why the file on disk could not be used
        self.changed = Event("settings changed")

    def update(self, **changes: Any) -> Settings:
        """Replace the named fields, save the file, tell the listeners."""
        self.current = replace(self.current, **changes)
        self.store.save(self.current)
        self.changed.emit(self.current)
        return self.current
