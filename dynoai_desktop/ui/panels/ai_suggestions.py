"""AI suggestions panel: where predicted base maps and overlays learned from the shop's sessions
will appear. Nothing trains models yet; the panel says so."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QListWidget, QVBoxLayout, QWidget

from dynoai_desktop.ui import theme


class AiSuggestionsPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.message = QLabel(
            "AI suggestions are not built yet. This is where predicted VE base maps, decel "
            "enrichment and cylinder balance learned from the shop's recorded sessions will be "
            "offered, each previewed before it touches a table."
        )
        self.message.setWordWrap(True)
        self.message.setStyleSheet(f"color: {theme.MUTED};")
        self.suggestions = QListWidget()
        self.suggestions.setObjectName("suggestions")
        layout = QVBoxLayout(self)
        layout.addWidget(self.message)
        layout.addWidget(self.suggestions, stretch=1)
