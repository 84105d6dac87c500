# Two commands for a fresh machine (see README):
#   make lab   - create .venv, install, provision the data, open chapter 1 in JupyterLab
#   make test  - the same set-up plus a headless Chromium, then every test (unit, science,
#                notebooks under nbval, the quiz in a real JupyterLab)
# Python 3.10-3.14 (CI tests 3.11): python3.11 if present, else python3.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: lab test setup assets browser clean-venv

# Jupyter refuses to run as root unless told; containers and CI machines often are root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)

lab: setup
	$(BIN)/jupyter lab $(ROOT_FLAG) notebooks/01_scratch_vs_transfer.ipynb

# The browser download needs only the standard library: it runs beside the install (-j2).
test:
	@$(MAKE) --no-print-directory -j2 setup browser
	$(BIN)/python -m pytest -n auto

setup: $(STAMP) assets

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.10-3.14 is required (CI tests 3.11); none found: set PYTHON=/path/to/python3."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,export]'
	touch $(STAMP)

assets: $(STAMP)
	$(BIN)/tlcourse assets --provision

# Chromium for tests/test_quiz_browser.py: the system's, or Debian's unpacked into datasets/
# without root. If that fails, make goes on and the test is skipped, saying why.
browser:
	-$(PYTHON) -m tlcourse.assets.browser

clean-venv:
	rm -rf $(VENV)
