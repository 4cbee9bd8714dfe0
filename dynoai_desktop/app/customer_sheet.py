"""The customer sheet as the window makes it: pick a session, make its sheet on a worker (the
runs are read and the pages drawn off the UI thread), preview the pages, save the PDF or hand
it to the system's viewer to print. The preview is the same pages as the PDF, drawn to PNG by
matplotlib's Agg backend from the same figures (PySide6-Essentials has no QtPdf to show the
PDF itself).

The catalog is read here on the caller's thread (SQLite connections stay on their thread): the
sessions, their notes and what the sheet needs; the worker only reads run files and draws.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from dynoai_desktop.app.report_sheet import (
    SessionSources,
    SheetOptions,
    printed_date,
    session_sources,
)
from dynoai_desktop.app.report_sheet import session_sheet as make_session_sheet
from dynoai_desktop.app.settings import AppSettings
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.power_curves import DEFAULT_SMOOTHING, Standard
from dynoai_desktop.core.sheet import CustomerSheet, ShopHeader
from dynoai_desktop.storage.catalog import Catalog
from dynoai_desktop.storage.file_io import write_bytes_atomic

SHEETS_DIR = "sheets"  # the data folder's sheets/ holds the PDFs opened for printing
PREVIEW_DPI = 96.0
WORKER_NAME = "customer-sheet"
NO_CATALOG = ("the catalog is not open (see the message at start-up), so there are no sessions "
              "to make a sheet of")


@dataclass(frozen=True)
class SessionChoice:
    id: int
    label: str


@dataclass(frozen=True, eq=False)
class SheetResult:
    """A sheet made: its data, the PDF and the same pages as PNG, how long it took."""

    session_id: int
    sheet: CustomerSheet
    pdf: bytes
    pages_png: tuple[bytes, ...]
    seconds: float


def _make(sources: SessionSources, options: SheetOptions, session_id: int) -> SheetResult:
    from dynoai_desktop.storage.sheet_pdf import sheet_pdf_bytes, sheet_png_pages  # loaded

    started = time.perf_counter()
    sheet = make_session_sheet(sources, options)
    pdf = sheet_pdf_bytes(sheet)
    pages = tuple(sheet_png_pages(sheet, PREVIEW_DPI))
    return SheetResult(session_id, sheet, pdf, pages, time.perf_counter() - started)


def _load_for_worker() -> None:
    """Everything the worker uses, loaded here on the caller's (UI) thread: a module imported on
    a worker while the UI thread is inside Qt once hung the app. matplotlib loads with the first
    sheet (about a second, once), not with the window."""
    import pyarrow.pandas_compat  # noqa: F401 - read_run's, on the worker
    import pyarrow.parquet  # noqa: F401
    import pyarrow.vendored.version  # noqa: F401

    from dynoai_desktop.storage.sheet_pdf import warm_up

    warm_up()


class CustomerSheetMaker:
    """Sessions to choose from, the sheet being made on one worker and the last one made."""

    def __init__(self, catalog: Catalog | None, settings: AppSettings,
                 open_session: int | None = None) -> None:
        self.catalog = catalog
        self.settings = settings
        self.open_session = open_session
        self.result: SheetResult | None = None
        self.error: str | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._job: Future[SheetResult] | None = None

    def _catalog(self) -> Catalog:
        if self.catalog is None:
            raise InputError(NO_CATALOG)
        return self.catalog

    # ------------------------------------------------------------------ choosing
    def sessions(self) -> list[SessionChoice]:
        """Every session of the catalog, newest first."""
        if self.catalog is None:
            return []
        found = []
        for customer in self.catalog.customers():
            for vehicle in self.catalog.vehicles(customer.id):
                for session in self.catalog.sessions(vehicle.id):
                    label = (f"Session {session.id} · {printed_date(session.started_at)} · "
                             f"{customer.name} · {vehicle.name}")
                    found.append((session.started_at, session.id, label))
        found.sort(reverse=True)
        return [SessionChoice(sid, label) for _when, sid, label in found]

    def default_session(self) -> int | None:
        """The session open in the window, else the newest."""
        if self.open_session is not None:
            return self.open_session
        choices = self.sessions()
        return choices[0].id if choices else None

    def notes(self, session_id: int) -> str:
        return self._catalog().session(session_id).notes

    # ------------------------------------------------------------------ making
    @staticmethod
    def prepare() -> None:
        """Load what the worker draws with, here (the UI thread): a second or two the first
        time, nothing after. :meth:`start` calls it too."""
        _load_for_worker()

    @property
    def busy(self) -> bool:
        return self._job is not None

    def start(self, session_id: int, standard: Standard = Standard.SAE_J1349,
              smoothing: int = DEFAULT_SMOOTHING, notes: str | None = None) -> None:
        """Make the session's sheet on the worker; ``notes`` (when given and changed) are kept
        with the session first. InputError for what the catalog says no to at once."""
        if self._job is not None:
            raise InputError("a sheet is being made; wait for it")
        catalog = self._catalog()
        if notes is not None and notes != catalog.session(session_id).notes:
            catalog.set_session_notes(session_id, notes)
        sources = session_sources(catalog, session_id)
        self.prepare()
        current = self.settings.current
        options = SheetOptions(standard, smoothing, current.units,
                               ShopHeader(current.shop.name, current.shop.contact),
                               current.shop.paper)
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=WORKER_NAME)
        self.error = None
        self._job = self._executor.submit(_make, sources, options, session_id)

    def poll(self) -> bool:
        """Take a finished sheet in (UI thread); True when one just finished (or failed)."""
        if self._job is None or not self._job.done():
            return False
        job, self._job = self._job, None
        try:
            self.result = job.result()
        except InputError as exc:
            self.error = str(exc)
        except Exception as exc:  # noqa: BLE001 - the window says what failed and lives on
            self.error = f"the sheet could not be made ({type(exc).__name__}: {exc})"
        return True

    def wait(self, timeout_s: float = 60.0) -> bool:
        """Tests and closing: wait for the sheet being made; True when none is left."""
        if self._job is not None:
            try:
                self._job.result(timeout_s)
            except Exception:  # noqa: BLE001 - poll() takes the failure in
                pass
        self.poll()
        return self._job is None

    def forget(self) -> None:
        """Drop the last sheet made (another session was chosen)."""
        self.result = None

    # ------------------------------------------------------------------ the PDF
    def save_pdf(self, path: Path) -> None:
        """Write the last sheet's PDF to ``path``; InputError when there is none or it cannot
        be written."""
        if self.result is None:
            raise InputError("make the sheet first")
        write_bytes_atomic(path, self.result.pdf)

    def file_for_viewer(self) -> Path:
        """The last sheet's PDF in the data folder's ``sheets/`` (kept, to print again), for
        the system's PDF viewer to open and print."""
        if self.result is None:
            raise InputError("make the sheet first")
        folder = self._catalog().data_dir / SHEETS_DIR
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"{folder}: cannot be made ({exc.strerror})") from None
        path = folder / f"session-{self.result.session_id:04d}-sheet.pdf"
        write_bytes_atomic(path, self.result.pdf)
        return path

    def close(self) -> None:
        """Finish the sheet being made and stop the worker."""
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
        self.poll()
