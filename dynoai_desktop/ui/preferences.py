"""Preferences: the units the tuner reads values in (stored in the settings, applied everywhere:
gauges, charts, axes, cursor read-outs)."""

from __future__ import annotations

from dataclasses import fields

from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QWidget

from dynoai_desktop.core.display import DisplayUnits, unit_symbol
from dynoai_desktop.ui import theme

# DisplayUnits field -> (what the tuner reads, the choices in the order offered)
UNIT_FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "afr": ("Mixture", ("AFR", "lambda")),
    "temperature": ("Temperatures", ("F", "C")),
    "torque": ("Torque", ("ft-lb", "N·m")),
    "power": ("Power", ("hp", "kW")),
    "speed": ("Roll speed", ("mph", "km/h")),
    "pressure": ("Barometer", ("kPa", "inHg", "psi")),
}
assert set(UNIT_FIELDS) == {f.name for f in fields(DisplayUnits)}


class PreferencesDialog(QDialog):
    """One choice per kind of value; OK gives ``units()``."""

    def __init__(self, units: DisplayUnits, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        self.setObjectName("preferences")
        self.combos: dict[str, QComboBox] = {}
        form = QFormLayout(self)
        for name, (title, choices) in UNIT_FIELDS.items():
            combo = QComboBox()
            combo.setObjectName(f"unit_{name}")
            for unit in choices:
                combo.addItem(unit_symbol(unit), unit)
            combo.setCurrentIndex(max(0, combo.findData(getattr(units, name))))
            form.addRow(title, combo)
            self.combos[name] = combo
        note = QLabel("MAP stays in kPa: it is the load axis of the VE and AFR tables.")
        note.setStyleSheet(f"color: {theme.MUTED};")
        note.setWordWrap(True)
        form.addRow(note)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def units(self) -> DisplayUnits:
        return DisplayUnits(**{name: combo.currentData() for name, combo in self.combos.items()})
