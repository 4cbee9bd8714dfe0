"""Windows: a variable the installer set for the whole machine (installer/windows/dynoai.iss sets
``DYNOAI_DATA_DIR`` to C:\\ProgramData\\DynoAI), read from the registry for a process whose
environment predates it: a Command Prompt opened before the install, or the setup's own
"Launch DynoAI Desktop". Elsewhere there is no such thing and the answer is None."""

from __future__ import annotations

import os
import sys

MACHINE_ENVIRONMENT_KEY = r"SYSTEM\CurrentControlSet\Control\Session Manager\Environment"


def machine_variable(name: str) -> str | None:
    """The machine-wide value of environment variable ``name`` (its %VARS% expanded), or None."""
    if sys.platform != "win32":
        return None
    import winreg

    try:
        with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, MACHINE_ENVIRONMENT_KEY) as key:
            value, _kind = winreg.QueryValueEx(key, name)
    except OSError:  # no such value, or the key cannot be read: as if unset
        return None
    return os.path.expandvars(value) if isinstance(value, str) and value else None
