"""Makes a session's customer sheet through the app's maker and prints, as JSON, every module
imported on a thread other than the main one meanwhile (empty is right: the maker loads what
its worker uses on the caller's thread first; see test_no_imports_on_threads.py for why)."""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path


class _Watch:
    def __init__(self) -> None:
        self.seen: list[str] = []

    def find_spec(self, name, path=None, target=None):  # noqa: ANN001, ANN201
        if threading.current_thread() is not threading.main_thread():
            self.seen.append(name)
        return None


def main() -> None:
    watch = _Watch()
    sys.meta_path.insert(0, watch)
    from dynoai_desktop.app.customer_sheet import CustomerSheetMaker
    from dynoai_desktop.app.settings import AppSettings
    from dynoai_desktop.storage.catalog import CATALOG_FILE, Catalog
    from dynoai_desktop.storage.settings import SettingsStore

    folder = Path(sys.argv[1])
    with Catalog(folder / CATALOG_FILE) as catalog:
        maker = CustomerSheetMaker(catalog, AppSettings(SettingsStore(folder / "config")))
        maker.start(int(sys.argv[2]))
        maker.wait()
        maker.close()
        assert maker.result is not None, maker.error
    print(json.dumps(sorted(set(watch.seen))))


if __name__ == "__main__":
    main()
