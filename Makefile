# httpsys — the two commands: `make run` and `make test`. The source is installed editable into .venv (pure
# Python, with the test tools); the wheel users get from `pip install` (built from the sdist by `python -m build`,
# its per-request modules compiled with mypyc when there is a C compiler) is installed into build/venv-native.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

DIST := build/dist
# the path of the wheel scripts/build_native.py built (its name ends in -none-any.whl when it is pure Python)
WHEEL := $(DIST)/WHEEL
NATIVE_VENV := build/venv-native
NATIVE_BIN := $(NATIVE_VENV)/bin
NATIVE := $(NATIVE_VENV)/.installed
NATIVE_TEST := $(NATIVE_VENV)/.test-extras
PACKAGE_SOURCES := pyproject.toml setup.py MANIFEST.in README.md scripts/build_native.py \
	$(shell find src/httpsys -type f -not -path '*/__pycache__/*' -not -name '*.so' -not -name '*.c')
PIP_QUIET := --quiet --disable-pip-version-check

.PHONY: run test lint typecheck unit unit-native unit-daemon wheel native venv clean fuzz test-attacks test-tools \
	native-beside

$(STAMP): pyproject.toml
	@echo "installing httpsys (editable, pure Python) and the test tools into $(VENV)"
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

# The sdist, and the wheel built from it: compiled with mypyc (a line per stage; the C files compile on every CPU)
# or, without a C compiler, pure Python with one line saying why (decision 0011). --no-isolation: with .venv's
# build requirements (the test tools hold them) instead of installing them twice into fresh environments; when
# .venv lacks one, the build is isolated as pip's is (decision 0032).
$(WHEEL): $(STAMP) $(PACKAGE_SOURCES)
	$(BIN)/python scripts/build_native.py --outdir $(DIST) --no-isolation

wheel: $(WHEEL)

# The wheel installed as a user installs it (its dependencies, no source tree), then the test tools beside it.
$(NATIVE): $(WHEEL)
	@echo "installing $$(cat $(WHEEL)) into $(NATIVE_VENV)"
	test -x $(NATIVE_BIN)/python || $(PY) -m venv $(NATIVE_VENV)
	$(NATIVE_BIN)/pip install $(PIP_QUIET) "$$(cat $(WHEEL))"
	$(NATIVE_BIN)/pip install $(PIP_QUIET) --force-reinstall --no-deps "$$(cat $(WHEEL))"
	touch $@

$(NATIVE_TEST): $(NATIVE)
	@echo "installing the test tools into $(NATIVE_VENV)"
	$(NATIVE_BIN)/pip install $(PIP_QUIET) "$$(cat $(WHEEL))[test]"
	touch $@

native: $(NATIVE)

# `make run DEMO="--url https://127.0.0.1:8443/ --self-signed"` adds an HTTPS URL (a throwaway certificate)
DEMO ?=
run: $(NATIVE)
	$(NATIVE_BIN)/httpsys demo --url http://127.0.0.1:8080/ $(DEMO)

lint: $(STAMP)
	$(BIN)/ruff check src tests examples bench
	$(BIN)/ruff format --check src

typecheck: $(STAMP)
	$(BIN)/mypy --strict src/httpsys

# pytest-xdist workers where the test tools include it (decision 0019: each worker takes its ports from its own
# slice of tests/portpool.py, and each worker of a daemon-mode run starts its own daemon); serial otherwise. One
# count per pass (decision 0032's amendment): `make test NATIVE_WORKERS=3` tries a third worker on the native pass.
UNIT_WORKERS ?= 2
NATIVE_WORKERS ?= 2
DAEMON_WORKERS ?= 2
XDIST = $$($(1) -c 'import xdist' 2>/dev/null && echo '-n $(or $(2),2)')
# each pass ends with its slowest tests, so a CI log says where the time went (decision 0032's amendment)
DURATIONS ?= --durations=15

unit: $(STAMP)
	$(BIN)/python -m pytest -q $(DURATIONS) $(call XDIST,$(BIN)/python,$(UNIT_WORKERS))

# The same suite against the installed wheel when the build compiled it (HTTPSYS_EXPECT_NATIVE=1 makes the tests
# check that the compiled modules are the ones running).
unit-native: $(NATIVE_TEST)
	@case "$$(cat $(WHEEL))" in \
	*-none-any.whl) echo "the wheel is pure Python (the build said why): the run above is the whole test";; \
	*) echo "HTTPSYS_EXPECT_NATIVE=1 $(NATIVE_BIN)/python -m pytest -q -p no:cacheprovider $(DURATIONS) $(call XDIST,$(NATIVE_BIN)/python,$(NATIVE_WORKERS))"; \
	   HTTPSYS_EXPECT_NATIVE=1 $(NATIVE_BIN)/python -m pytest -q -p no:cacheprovider $(DURATIONS) $(call XDIST,$(NATIVE_BIN)/python,$(NATIVE_WORKERS));; \
	esac

# System tools the default suite drives (ab, from Debian's apache2-utils; nghttp and h2load, from nghttp2-client; chromium; testssl.sh); says so
# and goes on when it cannot.
test-tools:
	scripts/install-test-tools.sh ab nghttp h2load chromium testssl

# The conformance and integration suites once more against a real `httpsys daemon` subprocess (docs/daemon.md,
# tests/conftest.py), on the installed wheel when it is compiled.
DAEMON_SUITES := tests/conformance tests/integration
unit-daemon: $(NATIVE_TEST)
	@case "$$(cat $(WHEEL))" in *-none-any.whl) py=$(BIN)/python;; *) py=$(NATIVE_BIN)/python;; esac; \
	echo "HTTPSYS_TEST_MODE=daemon $$py -m pytest -q -p no:cacheprovider $(DURATIONS) $(call XDIST,$$py,$(DAEMON_WORKERS)) $(DAEMON_SUITES)"; \
	HTTPSYS_TEST_MODE=daemon $$py -m pytest -q -p no:cacheprovider $(DURATIONS) $(call XDIST,$$py,$(DAEMON_WORKERS)) $(DAEMON_SUITES)

# WHEEL_BESIDE_UNIT=1: the pure suite runs while the wheel builds and installs beside it at the lowest CPU priority
# (nice 19: the build gets the CPU time the suite leaves idle, the suite keeps what it would have alone; the suite's
# output shows when it ends). Off by default until CI runs show no test flakier for it (decision 0032 §3).
WHEEL_BESIDE_UNIT ?= 0
test: test-tools lint typecheck
ifeq ($(WHEEL_BESIDE_UNIT),1)
	$(MAKE) --no-print-directory -j 2 --output-sync=line unit native-beside
else
	$(MAKE) --no-print-directory unit
endif
	$(MAKE) --no-print-directory unit-native unit-daemon

native-beside: $(STAMP)
	nice -n 19 $(MAKE) --no-print-directory $(NATIVE_TEST)

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info bench/.wheel-venv

# Longer fuzzing (hypothesis at 20,000 examples per test, then atheris when it installs): about 11 minutes.
fuzz: $(STAMP)
	HTTPSYS_FUZZ_EXAMPLES=20000 $(BIN)/python -m pytest -q -p no:cacheprovider --timeout=0 tests/fuzz
	@if $(BIN)/pip install --quiet atheris; then \
		$(BIN)/python tests/fuzz/atheris_harness.py http11 -atheris_runs=300000 -artifact_prefix=$${TMPDIR:-/tmp}/httpsys-fuzz-ht- && \
		$(BIN)/python tests/fuzz/atheris_harness.py url -atheris_runs=300000 -artifact_prefix=$${TMPDIR:-/tmp}/httpsys-fuzz-url-; \
	else echo "atheris did not install: hypothesis fuzzing only"; fi

# Slow attacks and soak runs (slowhttptest installed by scripts/install-test-tools.sh); `make test` runs them bounded.
test-attacks: $(STAMP)
	scripts/install-test-tools.sh slowhttptest
	HTTPSYS_SOAK=1 $(BIN)/python -m pytest -q -p no:cacheprovider --timeout=0 -s -m "attacks or soak" tests/hostile

include bench/bench.mk
