"""Train the prior models the app ships, from a simulated shop history.

    .venv/bin/python -m dynoai_desktop simulate-shop --sessions 200 --seed 1 --jobs 2 \\
        --catalog /tmp/shop200 --export-dataset /tmp/shop200.json      # about 25 min
    .venv/bin/python scripts/make_prior_models.py /tmp/shop200.json [--out resources/models] \\
        [--kind base_ve --kind cylinder_balance ...]

Writes ``<out>/<kind>/prior/`` for each kind (every kind the registry knows without
``--kind``): ``model.skops`` (the estimators, skops), ``meta.json`` (the version's metadata,
marked ``"prior": true`` with the history it came from) and ``manifest.json`` (the SHA-256 of
both, which the registry checks before loading). The app uses a prior until the shop has trained
a model of its own (ml/registry.py).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dynoai_desktop.core.errors import InputError  # noqa: E402
from dynoai_desktop.ml.kinds import KINDS, model_kind  # noqa: E402
from dynoai_desktop.ml.registry import (  # noqa: E402
    MANIFEST_FILE,
    PRIORS_DIR,
    artifact_bytes,
    sha256,
)
from dynoai_desktop.ml.training.dataset import load  # noqa: E402
from dynoai_desktop.storage.file_io import write_bytes_atomic  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dataset", type=Path, help="training data (a simulated shop history)")
    parser.add_argument("--out", type=Path, default=PRIORS_DIR)
    parser.add_argument("--kind", action="append", choices=KINDS,
                        help="a kind to train (repeatable; default every kind)")
    args = parser.parse_args()
    try:
        dataset = load(args.dataset)
    except InputError as exc:
        print(exc, file=sys.stderr)
        return 1
    sessions = dataset.sessions
    if not all(s.simulated for s in sessions):
        print(f"{args.dataset}: priors are trained on simulated sessions only", file=sys.stderr)
        return 1
    source = (f"simulated shop history ({len(sessions)} sessions of the virtual cell, "
              f"{dataset.source or args.dataset.name})")
    failed = 0
    for kind in args.kind or KINDS:
        failed += not _prior(kind, sessions, source, args.out)
    return 1 if failed else 0


def _prior(kind: str, sessions: list, source: str, out: Path) -> bool:
    spec = model_kind(kind)
    print(f"{kind}:", flush=True)
    result = spec.train(sessions, "shop", source=source,
                        progress=lambda done, total, what: print(f"  {done}/{total} {what}",
                                                                 flush=True))
    if result.model is None or not result.accepted:
        print(f"the {kind} prior was not accepted: {result.reason}", file=sys.stderr)
        return False
    meta = {**result.metadata, "prior": True, "version": 0}
    files = artifact_bytes(result.model, meta)
    folder = out / kind / "prior"
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        write_bytes_atomic(folder / name, data)
    manifest = {"artifacts": {name: sha256(data) for name, data in files.items()}}
    write_bytes_atomic(folder / MANIFEST_FILE,
                       (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode())
    held = result.metadata["metrics"]["held_out"]
    print(f"wrote {folder}: {spec.headline(held)}; {spec.spread(held)}; "
          f"{result.metadata['sessions_learned']} sessions learned")
    return True


if __name__ == "__main__":
    sys.exit(main())
