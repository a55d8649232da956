# httpsys — the two commands: `make run` and `make test`. Everything is installed into .venv.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

NATIVE := build/native/BUILT
# PYTHONPATH that selects the native build when scripts/build_native.py made one (empty: pure Python)
NATIVE_PATH = $$(test -f $(NATIVE) && echo build/native)

.PHONY: run test lint typecheck unit unit-native unit-daemon native venv clean fuzz test-attacks test-tools

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

# The driver's hot modules compiled with mypyc into build/native (skipped, with a message, without a C compiler).
$(NATIVE): $(STAMP) scripts/build_native.py $(shell find src/httpsys -name '*.py')
	$(BIN)/python scripts/build_native.py

native: $(NATIVE)

run: $(STAMP) $(NATIVE)
	PYTHONPATH=$(NATIVE_PATH) $(BIN)/python -m httpsys.cli demo --url http://127.0.0.1:8080/

lint: $(STAMP)
	$(BIN)/ruff check src tests examples bench
	$(BIN)/ruff format --check src

typecheck: $(STAMP)
	$(BIN)/mypy --strict src/httpsys

unit: $(STAMP)
	$(BIN)/python -m pytest -q

# The same suite against the native build (what `make run` and the benchmarks use), when there is one.
unit-native: $(NATIVE)
	@if [ -f $(NATIVE) ]; then PYTHONPATH=build/native $(BIN)/python -m pytest -q -p no:cacheprovider; \
	else echo "no native build: the pure-Python run above is the whole test"; fi

# System tools the default suite drives (ab, from Debian's apache2-utils); says so and goes on when it cannot.
test-tools:
	scripts/install-test-tools.sh ab

# The conformance suite once more against a real `httpsys daemon` subprocess (docs/daemon.md), native build when
# there is one.
unit-daemon: $(STAMP)
	HTTPSYS_TEST_MODE=daemon PYTHONPATH=$(NATIVE_PATH) $(BIN)/python -m pytest -q -p no:cacheprovider tests/conformance

test: test-tools lint typecheck unit unit-native unit-daemon

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info

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
