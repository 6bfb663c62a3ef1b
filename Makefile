# vidscout developer entry points. `make demo` runs the main job on the embedded default;
# `make test` runs lint, type-check and the test suite. Both set everything up on a fresh machine.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
VIDSCOUT := $(VENV)/bin/vidscout
MEDIA := .cache/media
export OMP_WAIT_POLICY := PASSIVE
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export VIDSCOUT_DATA_DIR ?= $(CURDIR)/.cache/vidscout
APT_PACKAGES := ffmpeg espeak-ng opencv-doc pocketsphinx-testdata chromium chromium-driver

.PHONY: system setup demo test lint typecheck pytest clean

system:  ## Debian packages: ffmpeg (media), espeak-ng (speech), sample media, chromium (the web app's browser test)
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  echo "installing:$$missing"; $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $$missing >/dev/null; \
	fi

$(VENV)/.installed: pyproject.toml Makefile
	test -d $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0   # the CPU wheel; a newer torch would pull GBs of CUDA wheels
	$(PY) -m pip install -q -e '.[embedded,dev]'
	# The speaker encoder's weights ship in resemblyzer's wheel (models/voice.py). Not in the embedded extra:
	# pip would also pull its declared deps, librosa (numba, llvmlite, scikit-learn) and webrtcvad (no wheel,
	# needs a C compiler), none of which vidscout uses.
	$(PY) -m pip install -q --no-deps resemblyzer==0.1.4
	touch $@

setup: system $(VENV)/.installed

demo: setup  ## fetch weights and Big Buck Bunny, ingest it, show the database, answer a question
	$(VIDSCOUT) models --fetch
	$(PY) scripts/fetch_media.py bbb --cache $(MEDIA) > .cache/bbb.path
	$(VIDSCOUT) ingest "$$(cat .cache/bbb.path)"
	$(VIDSCOUT) info "$$(cat .cache/bbb.path)" --rows 8
	$(VIDSCOUT) chapters "$$(cat .cache/bbb.path)" --sheet .cache/bbb_chapters.png
	$(VIDSCOUT) ask "$$(cat .cache/bbb.path)" "Who directed this film?" --trajectory .cache/bbb_ask.jsonl

lint: setup
	$(VENV)/bin/ruff check src tests bench scripts
	$(VENV)/bin/ruff format --check src tests bench scripts

typecheck: setup
	$(VENV)/bin/pyright

pytest: setup
	@set +e; $(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing on purpose"; exit 1; fi; exit $$rc

test: lint typecheck pytest

clean:
	rm -rf $(VENV) .cache tests/assets
