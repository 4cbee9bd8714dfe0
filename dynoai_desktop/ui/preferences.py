"""Preferences: the units the tuner reads values in (stored in the settings, applied everywhere:
gauges, charts, axes, cursor read-outs, the table editor, the customer sheet), the table
editor's +/- steps, and the shop as its customer sheets print it."""

from __future__ import annotations

from dataclasses import fields

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QWidget,
)

from dynoai_desktop.core.display import DisplayUnits, EditorSteps, unit_symbol
from dynoai_desktop.storage.settings import ShopPrefs
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
# EditorSteps field -> (label, decimals, largest step)
STEP_FIELDS: dict[str, tuple[str, int, float]] = {
    "ve_pct": ("+/- step, VE (points)", 2, 10.0),
    "afr": ("+/- step, AFR", 2, 2.0),
    "lambda_": ("+/- step, λ", 3, 0.2),
    "spark_deg": ("+/- step, spark (°)", 2, 5.0),
}
assert set(STEP_FIELDS) == {f.name for f in fields(EditorSteps)}


class PreferencesDialog(QDialog):
    """One choice per kind of value; OK gives ``units()``."""

    def __init__(self, units: DisplayUnits, parent: QWidget | None = None,
                 steps: EditorSteps | None = None, shop: ShopPrefs | None = None) -> None:
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
        steps = steps or EditorSteps()
        self.step_boxes: dict[str, QDoubleSpinBox] = {}
        for name, (title, decimals, largest) in STEP_FIELDS.items():
            box = QDoubleSpinBox()
            box.setObjectName(f"step_{name}")
            box.setDecimals(decimals)
            box.setRange(10.0 ** -decimals, largest)
            box.setSingleStep(10.0 ** -decimals)
            box.setValue(getattr(steps, name))
            form.addRow(title, box)
            self.step_boxes[name] = box
        shop = shop or ShopPrefs()
        self.shop_name = QLineEdit(shop.name)
        self.shop_name.setObjectName("shop_name")
        self.shop_name.setPlaceholderText("printed at the top of the customer sheet")
        self.shop_contact = QLineEdit(shop.contact)
        self.shop_contact.setObjectName("shop_contact")
        self.shop_contact.setPlaceholderText("address · phone")
        self.paper = QComboBox()
        self.paper.setObjectName("shop_paper")
        for label, value in (("Letter", "letter"), ("A4", "a4")):
            self.paper.addItem(label, value)
        self.paper.setCurrentIndex(max(0, self.paper.findData(shop.paper)))
        form.addRow("Shop name", self.shop_name)
        form.addRow("Shop address, phone", self.shop_contact)
        form.addRow("Customer sheet paper", self.paper)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def units(self) -> DisplayUnits:
        return DisplayUnits(**{name: combo.currentData() for name, combo in self.combos.items()})

    def steps(self) -> EditorSteps:
        return EditorSteps(**{name: box.value() for name, box in self.step_boxes.items()})

    def shop(self) -> ShopPrefs:
        return ShopPrefs(self.shop_name.text().strip(), self.shop_contact.text().strip(),
                         self.paper.currentData())
