"""The welcome screen's state (ui/welcome.py): whether it is due, where the data and settings
live, and the command that restarts the app in demo mode. Qt-free."""

from __future__ import annotations

from pathlib import Path

from dynoai_desktop.app.relaunch import demo_command
from dynoai_desktop.app.settings import AppSettings


class FirstRun:
    """``first_start``: no settings file was there when the app started (a fresh install).
    ``due``: the welcome screen shows at start, from a fresh install until the tuner chose
    something on it or left "Don't show this again" ticked (the settings' ``welcome_done``)."""

    def __init__(self, settings: AppSettings, data_dir: Path,
                 config_dir_given: Path | None = None) -> None:
        self.settings = settings
        self.first_start = not settings.store.found
        self.data_dir = data_dir.absolute()
        self.settings_dir = settings.store.config_dir.absolute()
        self._config_dir_given = config_dir_given

    @property
    def due(self) -> bool:
        return not self.settings.current.welcome_done

    def demo_command(self) -> list[str]:
        """The argv that starts this copy again on the virtual dyno cell."""
        return demo_command(self._config_dir_given)

    def finish(self, show_again: bool) -> None:
        """The tuner left the screen: it shows at the next start only if they asked for it.
        The settings file is written only when that changes."""
        if self.settings.current.welcome_done == show_again:
            self.settings.update(welcome_done=not show_again)
