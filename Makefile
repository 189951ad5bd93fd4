# The README's two commands. Both create .venv with the system python3 when it is missing.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test test-usb lint typecheck fuzz-long bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

## make run: the main job on the embedded default.
run: $(STAMP)
	$(VENV)/bin/wpd tour

## make test: every test, lint (ruff) and type check (mypy --strict).
test: $(STAMP)
	$(PY) -m pytest --cov=openwpd --cov-branch --cov-report=term-missing:skip-covered
	$(PY) -m ruff check src tests $(wildcard fuzz bench tools examples)
	$(PY) -m mypy --strict src
	$(MAKE) test-usb

## make test-usb: the USB suites inside the lab VM, our client against umtprd and our device as
## the USB gadget against libmtp, gphoto2, jmtpfs, go-mtpfs (skips, saying why, where the VM
## cannot be built -- except under CI=true, where that fails). See tools/usbvm/usbvm.
test-usb:
	tools/usbvm/usbvm test -q

## make fuzz-long: the long fuzz run (see README).
fuzz-long: $(STAMP)
	OPENWPD_FUZZ_EXAMPLES=$${OPENWPD_FUZZ_EXAMPLES:-2000000} $(PY) -m pytest -p no:cacheprovider fuzz -q --timeout=0

bench: $(STAMP)
	for b in bench/bench_*.py; do $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis .coverage
