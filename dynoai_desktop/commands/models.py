"""``dynoai models list|train|activate|rollback|verify`` (docs/formats.md "`dynoai models`"): the
model registry (``ml.registry``) from the command line.

``train`` learns from the catalog's training records that are not excluded (the shop's own and
the imported ones) and any ``--dataset`` files, narrowed to the scope's sessions; the new version
is judged by ``ml.train``'s gate against the model that scope's predictions use now, and is
stored and made active only when the gate accepts it. A refusal is a finding (exit 1), recorded
in the model history; too little data is unusable input (exit 2, ``DYN-M004``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from threadpoolctl import threadpool_limits

from dynoai_desktop.commands.catalog_option import add_catalog_argument, open_catalog
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.ml import errors
from dynoai_desktop.ml.anomaly import KIND as ANOMALY
from dynoai_desktop.ml.base_ve import KIND as BASE_VE
from dynoai_desktop.ml.decel import KIND as DECEL
from dynoai_desktop.ml.errors import ModelError
from dynoai_desktop.ml.kinds import KINDS, model_kind
from dynoai_desktop.ml.knock import KIND as KNOCK
from dynoai_desktop.ml.registry import ModelRegistry, ModelVersion, check_kind, check_scope
from dynoai_desktop.ml.scopes import baseline, screened, training_sessions
from dynoai_desktop.ml.soak_compensation import KIND as HEAT_SOAK
from dynoai_desktop.ml.training import dataset as datasets
from dynoai_desktop.ml.training.records import TuningSession

HELP = ("the ML models: list their versions, train one on the shop's sessions, activate a "
        "version, roll back, verify the stored files")
PROG = "dynoai models"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    scope_help = "shop, family:<engine family> (e.g. family:twin_cam_103) or vehicle:<id>"

    def action(name: str, text: str) -> argparse.ArgumentParser:
        return actions.add_parser(name, help=text, description=text)

    p = action("list", "every version of the models, the active one marked '*'")
    p.add_argument("--kind", default=BASE_VE, help=f"model kind ({', '.join(KINDS)}; default "
                   f"{BASE_VE})")
    p.add_argument("--scope", help=f"only this scope: {scope_help}")
    p.add_argument("--json", action="store_true", help="print the versions as JSON")
    add_catalog_argument(p)
    p = action("train", "train a model on the catalog's training records; it becomes active "
               "only if the validation gate accepts it (a refusal exits 1)")
    p.add_argument("--kind", default=BASE_VE, help=f"model kind ({', '.join(KINDS)}; default "
                   f"{BASE_VE})")
    p.add_argument("--scope", default="shop", help=f"{scope_help} (default shop)")
    p.add_argument("--dataset", type=Path, action="append", default=[], metavar="FILE.json",
                   help="a training-data file to learn from too (repeatable)")
    add_catalog_argument(p)
    p = action("activate", "make a stored version (or, in the shop scope, the prior) active")
    p.add_argument("kind", metavar="KIND", help=f"model kind ({', '.join(KINDS)})")
    p.add_argument("scope", metavar="SCOPE", help=scope_help)
    p.add_argument("version", metavar="VERSION", help="a version number (3 or v3) or 'prior'")
    add_catalog_argument(p)
    p = action("rollback", "make the version before the active one active again")
    p.add_argument("kind", metavar="KIND", help=f"model kind ({', '.join(KINDS)})")
    p.add_argument("scope", metavar="SCOPE", nargs="?", default="shop",
                   help=f"{scope_help} (default shop)")
    add_catalog_argument(p)
    p = action("export", "write one version (after checking it) into a zip another shop can "
               "import")
    p.add_argument("kind", metavar="KIND", help=f"model kind ({', '.join(KINDS)})")
    p.add_argument("scope", metavar="SCOPE", help=scope_help)
    p.add_argument("version", metavar="VERSION", help="a version number (3 or v3) or 'prior'")
    p.add_argument("file", type=Path, metavar="FILE.zip", help="the export to write")
    add_catalog_argument(p)
    p = action("import", "store an exported model as a new, inactive version after the same "
               "checks as loading")
    p.add_argument("file", type=Path, metavar="FILE.zip", help="a DynoAI model export")
    p.add_argument("--scope", help=f"store it in this scope ({scope_help}; default: the scope "
                   "it was exported from)")
    add_catalog_argument(p)
    p = action("verify", "check every version's files (SHA-256, feature schema, trusted types); "
               "exit 1 if any fails")
    p.add_argument("--kind", default=BASE_VE, help=f"model kind ({', '.join(KINDS)}; default "
                   f"{BASE_VE})")
    p.add_argument("--scope", help=f"only this scope: {scope_help}")
    add_catalog_argument(p)


def run(args: argparse.Namespace) -> int:
    handler = {"list": _list, "train": _train, "activate": _activate, "rollback": _rollback,
               "export": _export, "import": _import, "verify": _verify}[args.action]
    return handler(args)


def _say(line: str) -> None:
    sys.stderr.write(f"{PROG}: {line}\n")
    sys.stderr.flush()


# ------------------------------------------------------------------------------ list, verify
def version_dict(v: ModelVersion) -> dict[str, Any]:
    """A version as ``models list --json`` prints it."""
    return {"kind": v.kind, "scope": v.scope, "version": v.version, "label": v.label,
            "active": v.active, "prior": v.prior, "created_at": v.created_at,
            "sessions_learned": v.sessions_learned,
            "held_out": {f.key: v.held_out(f.key) for f in model_kind(v.kind).figures},
            "source": str(v.metadata.get("source", ""))}


def _pct(value: float | None, scale: float = 1.0, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value * scale:.{digits}f} %"


def _line(v: ModelVersion) -> str:
    return (f"{'*' if v.active else ' '} {v.kind} {v.scope} {v.label}  created {v.created_at}"
            f"  {v.sessions_learned} sessions learned  {_figures(v)}"
            f"  source: {v.metadata.get('source', '?')}")


def _brier(v: ModelVersion) -> str:
    brier, no_skill = v.held_out("brier"), v.held_out("no_skill_brier")
    return (f"held-out Brier {'n/a' if brier is None else f'{brier:.3f}'} (no-skill "
            f"{'n/a' if no_skill is None else f'{no_skill:.3f}'})")


def _figures(v: ModelVersion) -> str:
    if v.kind == DECEL:
        return f"{_brier(v)}  called right {_pct(v.held_out('accuracy'), 100.0, 0)}"
    if v.kind == ANOMALY:
        return (f"held-out flagged {_pct(v.held_out('flagged_share'), 100.0, 0)} of "
                f"{int(v.held_out('sessions') or 0)} sessions")
    if v.kind == KNOCK:
        return (f"{_brier(v)}  knock precision {_pct(v.held_out('precision'), 100.0, 0)}, "
                f"recall {_pct(v.held_out('recall'), 100.0, 0)}")
    if v.kind == HEAT_SOAK:
        return (f"held-out error {_pct(v.held_out('mae_pct'))} VE (removing nothing "
                f"{_pct(v.held_out('none_mae_pct'))})")
    return (f"held-out MAE {_pct(v.held_out('mae_pct'))} (stage maps "
            f"{_pct(v.held_out('stage_mae_pct'))})  90 % interval covers "
            f"{_pct(v.held_out('coverage_90'), 100.0, 0)}")


def _optional_scope(text: str | None) -> str | None:
    return None if text is None else check_scope(text)


def _list(args: argparse.Namespace) -> int:
    kind, scope = check_kind(args.kind), _optional_scope(args.scope)
    with open_catalog(args.catalog) as catalog:
        versions = ModelRegistry(catalog).versions(kind, scope)
    if args.json:
        print(json.dumps({"models": [version_dict(v) for v in versions]}, indent=2,
                         ensure_ascii=False))
    else:
        for v in versions:
            print(_line(v))
    if not versions:
        _say(f"no {kind} model is stored for {scope}; its predictions use a wider scope's")
    return 0


def _verify(args: argparse.Namespace) -> int:
    kind, scope = check_kind(args.kind), _optional_scope(args.scope)
    failures: list[str] = []
    with open_catalog(args.catalog) as catalog:
        registry = ModelRegistry(catalog)
        versions = registry.versions(kind, scope)
        if scope in (None, "shop") and registry.prior(kind) is None:
            missing = ModelError(errors.NO_MODEL, f"the shipped prior "
                                 f"({registry.priors_dir / kind / 'prior'}) is missing or its "
                                 "manifest cannot be read; reinstall DynoAI")
            failures.append(f"{kind} shop prior: {missing}")
            print(failures[-1])
        for v in versions:
            try:
                registry.verify(v)
            except ModelError as exc:
                failures.append(f"{v.kind} {v.scope} {v.label}: {exc}")
                print(failures[-1])
            else:
                print(f"{v.kind} {v.scope} {v.label}: OK")
    if failures:
        more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
        _say(f"{failures[0]}{more}")
        return 1
    return 0


# ------------------------------------------------------------------------------ activate, rollback
def _version_number(text: str, scope: str) -> int:
    if text.strip().lower() == "prior":
        if scope != "shop":
            raise ModelError(errors.NO_MODEL, f"the prior is the shop scope's, not {scope}'s; "
                             "give a version number")
        return 0
    digits = text.strip().lower().removeprefix("v")
    if not digits.isdigit() or int(digits) < 1:
        raise InputError(f"VERSION {text!r}: give a version number (3 or v3) or 'prior'")
    return int(digits)


def _activate(args: argparse.Namespace) -> int:
    kind, scope = check_kind(args.kind), check_scope(args.scope)
    number = _version_number(args.version, scope)
    with open_catalog(args.catalog) as catalog:
        v = ModelRegistry(catalog).activate(kind, scope, number)
    print(f"{kind} {scope} {v.label} is active")
    return 0


def _rollback(args: argparse.Namespace) -> int:
    kind, scope = check_kind(args.kind), check_scope(args.scope)
    with open_catalog(args.catalog) as catalog:
        was = catalog.active_model_version(kind, scope)
        v = ModelRegistry(catalog).rollback(kind, scope)
    print(f"{kind} {scope} {v.label} is active again (was v{was})")
    return 0


def _export(args: argparse.Namespace) -> int:
    kind, scope = check_kind(args.kind), check_scope(args.scope)
    number = _version_number(args.version, scope)
    if args.file.suffix.lower() != ".zip":
        raise InputError(f"FILE {args.file}: give a .zip file name")
    if not args.file.parent.is_dir():
        raise InputError(f"FILE {args.file}: the folder {args.file.parent} does not exist")
    with open_catalog(args.catalog) as catalog:
        registry = ModelRegistry(catalog)
        v = registry.version(kind, scope, number)
        registry.export(v, args.file)
    print(f"{kind} {scope} {v.label} exported to {args.file}")
    return 0


def _import(args: argparse.Namespace) -> int:
    scope = None if args.scope is None else check_scope(args.scope)
    if not args.file.is_file():
        raise InputError(f"FILE {args.file}: no such file; check the path")
    with open_catalog(args.catalog) as catalog:
        v = ModelRegistry(catalog).import_model(args.file, scope)
    print(f"{v.kind} {v.scope} {v.label} imported from {args.file} (inactive: "
          f"dynoai models activate {v.kind} {v.scope} {v.version} to use it)")
    return 0


# ------------------------------------------------------------------------------ train
def _load_dataset(path: Path) -> list[TuningSession]:
    try:
        return datasets.load(path).sessions
    except (ValueError, RecursionError) as exc:  # InputError (not a dataset) passes through
        raise InputError(f"--dataset {path}: not valid JSON ({exc})") from None


def _train(args: argparse.Namespace) -> int:
    kind, scope = model_kind(args.kind), check_scope(args.scope)
    files = {path: _load_dataset(path) for path in args.dataset}
    with open_catalog(args.catalog) as catalog:
        registry = ModelRegistry(catalog)
        sessions, counts, warnings = training_sessions(catalog, scope, files)
        for warning in warnings:
            _say(f"warning: {warning}")
        sessions, left_out = screened(registry, sessions, kind.name)
        for line in left_out:
            _say(f"anomaly check: {line}")
        origin = ", ".join(f"{name} ({n})" for name, n in counts.items()) or "no sessions"
        _say(f"training {kind.name} for {scope} on {len(sessions)} sessions: {origin}")
        base = baseline(registry, scope, kind=kind.name)
        if base.warning:
            _say(f"warning: {base.warning}")
        elif base.current is not None:
            _say(f"judged against {base.current.kind} {base.current.scope} "
                 f"{base.current.label}")
        current, model, number, learned = base.current, base.model, base.number, base.learned
        try:
            with threadpool_limits(limits=1):  # small fits: threads cost more than they give
                result = kind.train(
                    sessions, scope, active=model, active_version=number,
                    previous_sessions=learned, source=origin,
                    progress=lambda done, total, what: _say(f"fit {done}/{total} ({what})"))
        except KeyboardInterrupt:
            _say("stopped; nothing was saved")
            return 130
        assert result.model is not None
        if not result.accepted:
            registry.record_refusal(kind.name, scope, result.metadata)
            stays = (f"{current.scope} {current.label} stays in use" if current is not None
                     else "no model was stored")
            _say(f"{result.reason}; {stays}")
            return 1
        v = registry.save(kind.name, scope, result.model, result.metadata, activate=True)
    held = result.metadata["metrics"]["held_out"]
    print(f"{v.kind} {v.scope} {v.label} is active: {kind.headline(held)} on "
          f"{held.get('sessions', 0)} held-out sessions; {v.sessions_learned} sessions learned; "
          f"{kind.spread(held)}")
    return 0
