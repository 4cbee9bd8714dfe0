"""AI suggestions panel: predicted base maps and overlays learned from the shop's sessions."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QListWidget, QVBoxLayout, QWidget

from dynoai_desktop.ui import theme


class AiSuggestionsPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.message = QLabel(
            "No trained models yet. Suggestions (predicted VE base maps, decel enrichment, "
            "cylinder balance) appear here once the shop has recorded sessions to learn from."
        )
        self.message.setWordWrap(True)
        self.message.setStyleSheet(f"color: {theme.MUTED};")
        self.suggestions = QListWidget()
        self.suggestions.setObjectName("suggestions")
        layout = QVBoxLayout(self)
        layout.addWidget(self.message)
        layout.addWidget(self.suggestions, stretch=1)
