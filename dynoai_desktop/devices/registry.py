"""The built-in device kinds, registered in the one registry the app looks devices up in.

The virtual dyno cell's devices speak these same protocols, so they need no kinds of their own;
a plug-in device would register its ``DeviceKind`` on ``REGISTRY`` the same way.
"""

from __future__ import annotations

from dynoai_desktop.devices import aem_ascii, dyno_line, innovate_mts, plx_imfd
from dynoai_desktop.devices.base import REGISTRY, DeviceKind, DeviceRegistry

BUILTIN_KINDS: tuple[DeviceKind, ...] = (
    dyno_line.KIND,
    innovate_mts.KIND,
    aem_ascii.KIND,
    plx_imfd.KIND,
)


def register_builtin(registry: DeviceRegistry) -> DeviceRegistry:
    """Add the built-in kinds to ``registry`` (those it already has are left as they are)."""
    for kind in BUILTIN_KINDS:
        if kind.protocol not in registry.protocols():
            registry.register(kind)
    return registry


def device_registry() -> DeviceRegistry:
    """The app's registry, with the built-in kinds in it."""
    return register_builtin(REGISTRY)
