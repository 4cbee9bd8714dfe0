"""The model registry: every version of every model, verified before it is ever loaded.

A version is a folder of artifacts (``model.skops``: the fitted estimators, persisted with skops;
``meta.json``: feature names and schema version, training-session ids, metrics, training-data
statistics, created time, app version, and what the estimators need besides) under
``<data dir>/models/<kind>/<scope>/v<N>/``, and a row in the catalog with the SHA-256 of each
artifact. Loading reads each file's bytes once, checks its SHA-256 against the catalog's entry
(or the shipped manifest) and refuses a mismatch (``DYN-M003``) before anything is parsed; the
skops file is then opened with an explicit list of trusted types, and a file that names any
other type is refused without being loaded. Nothing is ever unpickled.

Scopes: ``shop``, ``family:<engine family>``, ``vehicle:<catalog id>``. Each kind and scope has
at most one active version; predictions use the narrowest scope that has one, and fall back to
the *prior* the app ships (``resources/models/<kind>/prior``: trained on a simulated shop
history, and saying so). Rollback makes the version before the active one active again (the
prior after version 1). Export writes a version's artifacts and metadata into one zip; import
puts them through the same checks and stores them as a new, inactive version.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import skops.io as sio

from dynoai_desktop.core.build_spec import EngineFamily
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.ml import errors
from dynoai_desktop.ml.errors import ModelError
from dynoai_desktop.ml.features import FEATURE_SCHEMA_VERSION
from dynoai_desktop.ml.kinds import ModelKind, model_kind
from dynoai_desktop.storage.catalog import Catalog, ModelRow
from dynoai_desktop.storage.file_io import write_bytes_atomic
from dynoai_desktop.storage.resources import RESOURCES_DIR

MODEL_FILE = "model.skops"
META_FILE = "meta.json"
MANIFEST_FILE = "manifest.json"
MODELS_DIR = "models"
PRIORS_DIR = RESOURCES_DIR / "models"
PRIOR_VERSION = 0
TRUSTED_TYPES = (
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    # A fitted model with categorical features keeps a partial of check_array in its
    # preprocessor; skops checks the partial's function as a type of its own.
    "functools.partial",
    "sklearn.utils.validation.check_array",
    # The session anomaly detector's isolation forest keeps its trees as sklearn's Tree.
    "sklearn.tree._tree.Tree",
)
"""The only types a model file may name beyond what skops trusts by default (numpy arrays and
scikit-learn's own estimators); anything else is refused unread."""
EXPORT_KIND = "dynoai-model-export"


def check_scope(scope: str) -> str:
    """``scope`` if it is ``shop``, ``family:<family>`` or ``vehicle:<id>``, else InputError."""
    if scope == "shop":
        return scope
    head, _, tail = scope.partition(":")
    if head == "family" and tail in {f.value for f in EngineFamily}:
        return scope
    if head == "vehicle" and tail.isdigit():
        return scope
    raise InputError(f"model scope {scope!r} is not valid: use shop, family:<engine family> "
                     "(e.g. family:twin_cam_103) or vehicle:<vehicle id>")


def check_kind(kind: str) -> str:
    return model_kind(kind).name


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class ModelVersion:
    """One version of a model, as listed (nothing loaded)."""

    kind: str
    scope: str
    version: int  # 0 = the shipped prior
    created_at: str
    folder: Path
    artifacts: dict[str, str]  # file -> SHA-256
    metadata: dict[str, Any]
    active: bool = False

    @property
    def prior(self) -> bool:
        return self.version == PRIOR_VERSION

    @property
    def label(self) -> str:
        return "prior" if self.prior else f"v{self.version}"

    @property
    def sessions_learned(self) -> int:
        return int(self.metadata.get("sessions_learned", 0))

    def held_out(self, figure: str) -> float | None:
        value = self.metadata.get("metrics", {}).get("held_out", {}).get(figure)
        return None if value is None else float(value)


def _read_verified(folder: Path, artifacts: dict[str, str], what: str) -> dict[str, bytes]:
    out = {}
    for name in (MODEL_FILE, META_FILE):
        expected = artifacts.get(name)
        if not expected:
            raise ModelError(errors.INTEGRITY_FAILURE, f"{what}: the entry has no SHA-256 for "
                             f"{name}; retrain or re-import the model")
        path = folder / name
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ModelError(errors.INTEGRITY_FAILURE, f"{what}: cannot read {path} "
                             f"({exc.strerror or exc}); retrain or re-import the model"
                             ) from None
        if sha256(data) != expected:
            raise ModelError(errors.INTEGRITY_FAILURE, f"{what}: {path} does not match its "
                             "SHA-256 (changed since it was saved); it was not loaded. Roll "
                             "back, retrain or re-import the model")
        out[name] = data
    return out


def _meta(data: bytes, what: str, kind: ModelKind) -> dict[str, Any]:
    try:
        meta = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ModelError(errors.INTEGRITY_FAILURE, f"{what}: {META_FILE} is not JSON ({exc})"
                         ) from None
    if not isinstance(meta, dict):
        raise ModelError(errors.INTEGRITY_FAILURE, f"{what}: {META_FILE} is not a JSON object")
    version = meta.get("feature_schema_version")
    if version != FEATURE_SCHEMA_VERSION or meta.get("feature_names") != list(kind.feature_names):
        raise ModelError(errors.INCOMPATIBLE_SCHEMA, (
            f"{what} was made with feature schema {version!r}; this DynoAI builds schema "
            f"{FEATURE_SCHEMA_VERSION}: retrain the model here (dynoai models train)"))
    return meta


def _estimators(data: bytes, what: str, kind: ModelKind) -> dict[str, Any]:
    try:
        untrusted = sio.get_untrusted_types(data=data)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is an integrity failure
        raise ModelError(errors.INTEGRITY_FAILURE, f"{what}: {MODEL_FILE} is not a model file "
                         f"({type(exc).__name__}); it was not loaded") from None
    foreign = sorted(set(untrusted) - set(TRUSTED_TYPES))
    if foreign:
        raise ModelError(errors.INTEGRITY_FAILURE, f"{what}: {MODEL_FILE} names types DynoAI "
                         f"does not trust ({', '.join(foreign[:3])}); it was not loaded")
    try:
        loaded = sio.loads(data, trusted=list(TRUSTED_TYPES))
    except Exception as exc:  # noqa: BLE001
        raise ModelError(errors.INTEGRITY_FAILURE, f"{what}: {MODEL_FILE} cannot be read "
                         f"({type(exc).__name__}: {exc}); it was not loaded") from None
    if not (isinstance(loaded, dict) and set(loaded) == set(kind.estimator_keys) and all(
            isinstance(v, kind.estimator_type) for v in loaded.values())):
        raise ModelError(errors.INTEGRITY_FAILURE, f"{what}: {MODEL_FILE} does not hold a "
                         f"{kind.title} model")
    return loaded


def model_from_artifacts(files: dict[str, bytes], what: str, kind: str
                         ) -> tuple[Any, dict[str, Any]]:
    """The ``kind`` model in verified artifact bytes (schema checked first, then the trusted
    types)."""
    spec = model_kind(kind)
    meta = _meta(files[META_FILE], what, spec)
    if meta.get("kind", kind) != kind:
        raise ModelError(errors.INTEGRITY_FAILURE, f"{what}: {META_FILE} says it is a "
                         f"{meta.get('kind')!r} model, not {kind}")
    estimators = _estimators(files[MODEL_FILE], what, spec)
    params = meta.get("model", {})
    try:
        model = spec.from_artifacts(estimators, params)
    except (KeyError, TypeError, ValueError, InputError) as exc:
        raise ModelError(errors.INTEGRITY_FAILURE, f"{what}: {META_FILE} lacks the model's "
                         f"parameters ({exc})") from None
    return model, meta


def load_version(v: ModelVersion) -> Any:
    """The version's model, its artifacts verified first (ModelError when they fail); needs no
    catalog (a training process loads the model it is judged against with it)."""
    what = f"{v.kind} model {v.scope} {v.label}"
    model, _meta = model_from_artifacts(_read_verified(v.folder, v.artifacts, what), what,
                                        v.kind)
    return model


def artifact_bytes(model: Any, metadata: dict[str, Any]) -> dict[str, bytes]:
    """The artifact files of a model: the estimators (skops, compressed) and the metadata."""
    model_bytes = sio.dumps(model.estimators, compression=zipfile.ZIP_DEFLATED,
                            compresslevel=9)
    meta = dict(metadata)
    meta.setdefault("model", {})
    meta["model"] = {**meta["model"], **model.params_json()}
    meta_bytes = json.dumps(meta, indent=1, sort_keys=True, ensure_ascii=False).encode("utf-8")
    return {MODEL_FILE: model_bytes, META_FILE: meta_bytes}


def prior_version(kind: str, priors_dir: Path = PRIORS_DIR) -> ModelVersion | None:
    """The prior shipped for ``kind`` (None when there is none or it cannot be read)."""
    folder = priors_dir / kind / "prior"
    try:
        manifest = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
        meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return ModelVersion(kind, "shop", PRIOR_VERSION, str(meta.get("created_at", "")),
                        folder, dict(manifest.get("artifacts", {})), meta)


class ModelRegistry:
    """The catalog's models, the shipped priors, and the checks between them and a prediction."""

    def __init__(self, catalog: Catalog, priors_dir: Path = PRIORS_DIR) -> None:
        self.catalog = catalog
        self.priors_dir = priors_dir

    # ------------------------------------------------------------------ listing
    def prior(self, kind: str) -> ModelVersion | None:
        return prior_version(kind, self.priors_dir)

    def _from_row(self, row: ModelRow, active: int | None) -> ModelVersion:
        return ModelVersion(row.kind, row.scope, row.version, row.created_at,
                            self.catalog.data_dir / row.folder, row.artifacts, row.metadata,
                            row.version == active)

    def versions(self, kind: str, scope: str | None = None) -> list[ModelVersion]:
        """Stored versions, oldest first, with the shipped prior first in the shop scope."""
        check_kind(kind)
        out: list[ModelVersion] = []
        scopes = [scope] if scope else sorted({r.scope for r in self.catalog.model_versions(kind)}
                                              | {"shop"})
        for sc in scopes:
            active = self.catalog.active_model_version(kind, sc)
            if sc == "shop" and (prior := self.prior(kind)) is not None:
                out.append(replace(prior, active=active is None))
            out += [self._from_row(r, active) for r in self.catalog.model_versions(kind, sc)]
        return out

    def version(self, kind: str, scope: str, version: int) -> ModelVersion:
        for v in self.versions(kind, scope):
            if v.version == version:
                return v
        raise ModelError(errors.NO_MODEL, f"there is no {kind} model {scope} v{version}; "
                         "see dynoai models list")

    def active(self, kind: str, scope: str = "shop") -> ModelVersion:
        """The active version of ``scope`` (in the shop scope, the prior when none is)."""
        check_kind(kind)
        check_scope(scope)
        number = self.catalog.active_model_version(kind, scope)
        if number is not None:
            row = self.catalog.model_version(kind, scope, number)
            if row is not None:
                return self._from_row(row, number)
        prior = self.prior(kind) if scope == "shop" else None
        if prior is None:
            raise ModelError(errors.NO_MODEL, f"no {kind} model is active for {scope}; train "
                             "one (dynoai models train) or use a wider scope")
        return replace(prior, active=True)

    def resolve(self, kind: str, scopes: list[str]) -> ModelVersion:
        """The active version of the first of ``scopes`` that has one (narrowest first), else
        the shop's (or the prior)."""
        for scope in scopes:
            if scope != "shop" and self.catalog.active_model_version(kind, scope) is not None:
                return self.active(kind, scope)
        return self.active(kind, "shop")

    # ------------------------------------------------------------------ loading
    def _what(self, v: ModelVersion) -> str:
        return f"{v.kind} model {v.scope} {v.label}"

    def load(self, v: ModelVersion) -> Any:
        """The version's model, its artifacts verified first (ModelError when they fail)."""
        return load_version(v)

    def verify(self, v: ModelVersion) -> None:
        """Check the version's artifacts (hashes, schema, trusted types) without using it."""
        self.load(v)

    # ------------------------------------------------------------------ changing
    def save(self, kind: str, scope: str, model: Any, metadata: dict[str, Any],
             activate: bool, event: str = "trained") -> ModelVersion:
        """Store ``model`` as the next version of ``scope`` (and make it active when asked,
        after verifying it)."""
        files = artifact_bytes(model, metadata)
        v = self.store(kind, scope, files, event)
        if activate:
            self.activate(kind, scope, v.version)
        return self.version(kind, scope, v.version)

    def store(self, kind: str, scope: str, files: dict[str, bytes], event: str = "trained",
              activate_as_written: bool = False) -> ModelVersion:
        """Store artifact bytes (``artifact_bytes``: a training process's output) as the next
        version of ``scope``; its metadata gets the scope and number. ``activate_as_written``
        makes it active without reading it back (a model this app just trained and wrote;
        every later load verifies it)."""
        check_kind(kind)
        check_scope(scope)
        number = self.catalog.next_model_version(kind, scope)
        meta = {**json.loads(files[META_FILE]), "kind": kind, "scope": scope, "version": number}
        files = {MODEL_FILE: files[MODEL_FILE], META_FILE: json.dumps(
            meta, indent=1, sort_keys=True, ensure_ascii=False).encode("utf-8")}
        folder_rel = Path(MODELS_DIR) / kind / scope.replace(":", "_") / f"v{number}"
        folder = self.catalog.data_dir / folder_rel
        if folder.exists():  # a leftover of a save that did not reach the catalog
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        for name, data in files.items():
            write_bytes_atomic(folder / name, data)
        hashes = {name: sha256(data) for name, data in files.items()}
        stored = self.catalog.add_model_version(kind, scope, folder_rel.as_posix(), hashes,
                                                meta, str(meta.get("created_at") or "") or None)
        self.catalog.add_model_event(kind, scope, stored, event, _event_detail(meta))
        if activate_as_written:
            self.catalog.set_active_model_version(kind, scope, stored)
            self.catalog.add_model_event(kind, scope, stored, "activated")
        return self.version(kind, scope, stored)

    def record_refusal(self, kind: str, scope: str, metadata: dict[str, Any]) -> None:
        self.catalog.add_model_event(kind, scope, None, "refused", _event_detail(metadata))

    def activate(self, kind: str, scope: str, version: int) -> ModelVersion:
        """Make a stored version (or, with 0 in the shop scope, the prior) active; its
        artifacts are verified first."""
        v = self.version(kind, scope, version)
        self.verify(v)
        self.catalog.set_active_model_version(kind, scope, None if v.prior else v.version)
        self.catalog.add_model_event(kind, scope, v.version, "activated")
        return replace(v, active=True)

    def rollback(self, kind: str, scope: str = "shop") -> ModelVersion:
        """Make the version before the active one active again (the prior after v1)."""
        current = self.catalog.active_model_version(kind, scope)
        if current is None:
            raise ModelError(errors.NO_MODEL, f"no stored {kind} model is active for {scope}: "
                             "there is nothing to roll back")
        older = [v for v in self.versions(kind, scope) if v.version < current]
        if not older:
            raise ModelError(errors.NO_MODEL, f"{kind} {scope} v{current} is the first "
                             "version and no prior ships for this scope: nothing to roll back "
                             "to")
        target = older[-1]
        self.verify(target)
        self.catalog.set_active_model_version(kind, scope, None if target.prior
                                              else target.version)
        self.catalog.add_model_event(kind, scope, target.version, "rolled back",
                                     {"from_version": current})
        return replace(target, active=True)

    # ------------------------------------------------------------------ between shops
    def export(self, v: ModelVersion, path: Path) -> None:
        """Write the version (its artifacts, after checking them, and a manifest) as a zip."""
        files = _read_verified(v.folder, v.artifacts, self._what(v))
        manifest = {"kind": EXPORT_KIND, "model_kind": v.kind, "scope": v.scope,
                    "version": v.version, "artifacts": {n: sha256(d) for n, d in files.items()}}
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr(MANIFEST_FILE, json.dumps(manifest, indent=1, sort_keys=True))
            for name, data in files.items():
                z.writestr(name, data)
        write_bytes_atomic(path, buffer.getvalue())

    def import_model(self, path: Path, scope: str | None = None) -> ModelVersion:
        """Store an exported model as a new, inactive version (of its own scope, or ``scope``),
        after the same checks as loading."""
        what = f"model file {path}"
        try:
            with zipfile.ZipFile(path) as z:
                names = set(z.namelist())
                if not {MANIFEST_FILE, MODEL_FILE, META_FILE} <= names:
                    raise ModelError(errors.INTEGRITY_FAILURE, f"{what}: not a DynoAI model "
                                     "export (it lacks manifest.json, model.skops or meta.json)")
                manifest = json.loads(z.read(MANIFEST_FILE))
                files = {n: z.read(n) for n in (MODEL_FILE, META_FILE)}
        except (OSError, zipfile.BadZipFile, ValueError, KeyError) as exc:
            raise ModelError(errors.INTEGRITY_FAILURE, f"{what}: cannot be read as a DynoAI "
                             f"model export ({exc})") from None
        if not isinstance(manifest, dict) or manifest.get("kind") != EXPORT_KIND:
            raise ModelError(errors.INTEGRITY_FAILURE, f"{what}: not a DynoAI model export")
        hashes = manifest.get("artifacts", {})
        for name, data in files.items():
            if not isinstance(hashes, dict) or hashes.get(name) != sha256(data):
                raise ModelError(errors.INTEGRITY_FAILURE, f"{what}: {name} does not match "
                                 "its SHA-256 in the export; it was not imported")
        kind = check_kind(str(manifest.get("model_kind", "")))
        model, meta = model_from_artifacts(files, what, kind)
        target = check_scope(scope or str(manifest.get("scope", "shop")))
        meta = {**meta, "source": f"imported from {path.name} ({meta.get('source', '?')})",
                "imported_from": {"scope": manifest.get("scope"),
                                  "version": manifest.get("version")}}
        return self.save(kind, target, model, meta, activate=False, event="imported")


def _scalars(figures: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in figures.items() if isinstance(v, (int, float)) and k != "cells"}


def _event_detail(meta: dict[str, Any]) -> dict[str, Any]:
    figures = meta.get("metrics", {})
    return {"held_out": _scalars(figures.get("held_out", {})),
            "cv": _scalars(figures.get("cv", {})),
            "sessions_learned": meta.get("sessions_learned"),
            "gate": meta.get("gate", "")}
