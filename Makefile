# The README's two commands. Both set up a fresh machine first (idempotent, fast when done).
.PHONY: run test smoke screenshots bundle check-bundle clean

run:  ## set up, then open DynoAI Desktop in demo mode
	scripts/run.sh

test:  ## set up, then run the whole suite offscreen, the 3D view under Xvfb, the non-UI suite without Qt
	scripts/test.sh

smoke:  ## the installer's check: open the main window for 5 s offscreen, exit 0
	QT_QPA_PLATFORM=offscreen scripts/run.sh --smoke

bundle:  ## the shops' bundle: PyInstaller onedir, tar.gz and .deb under installer/build (about 5 min)
	scripts/bootstrap.sh bundle
	.venv-bundle/bin/python installer/build.py

check-bundle:  ## install the .deb into a scratch root; run the frozen app offscreen, under Xvfb, on a real .pvv (about 4 min)
	scripts/bootstrap.sh gui
	.venv-bundle/bin/python installer/check_bundle.py

screenshots:  ## regenerate the docs' screenshots under Xvfb (about four minutes: the demo runs in real time)
	scripts/bootstrap.sh gui
	DYNOAI_CONFIG_DIR=$$(mktemp -d) DYNOAI_DATA_DIR=$$(mktemp -d) xvfb-run -a -s "-screen 0 1600x1000x24" \
		.venv/bin/dynoai --demo --screenshot docs/main_window.png --screenshot-after-s 23
	DYNOAI_CONFIG_DIR=$$(mktemp -d) DYNOAI_DATA_DIR=$$(mktemp -d) xvfb-run -a -s "-screen 0 1280x800x24" \
		.venv/bin/dynoai --demo --screenshot docs/main_window_1280x800.png --screenshot-after-s 23
	DYNOAI_CONFIG_DIR=$$(mktemp -d) DYNOAI_DATA_DIR=$$(mktemp -d) xvfb-run -a -s "-screen 0 1920x1080x24" \
		.venv/bin/dynoai --demo --screenshot docs/main_window_1920x1080.png --screenshot-after-s 23
	xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python scripts/docs_shots.py docs
	DYNOAI_CONFIG_DIR=$$(mktemp -d) xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python scripts/autotune_shots.py docs
	DYNOAI_CONFIG_DIR=$$(mktemp -d) xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python scripts/coverage_shots.py docs
	xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python scripts/editor_shots.py docs
	xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python scripts/replay_shots.py docs
	DYNOAI_CONFIG_DIR=$$(mktemp -d) xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python scripts/compare_shots.py docs
	xvfb-run -a -s "-screen 0 1280x800x24" .venv/bin/python scripts/first_run_shots.py docs

clean:
	rm -rf .venv .venv-noqt .venv-bundle installer/build .pytest_cache .ruff_cache .hypothesis
