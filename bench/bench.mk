# Benchmark targets, included from the top-level Makefile (`include bench/bench.mk`, after $(STAMP), $(BIN),
# $(WHEEL), $(NATIVE) and $(PIP_QUIET) are defined). Never part of `make test`: the load runs minutes and needs both CPUs to itself.
#   make bench         every scenario, 3 interleaved rounds (about 11 minutes)
#   make bench-quick   hello world, 10 MiB file (4 MiB buffers), cached response, idle connections: 1 round (< 2 min)
#   make bench-daemon  the shared daemon against the embedded asyncio face, `run --workers 2` against uvicorn's (issue 14)
# Extra arguments for bench/run.py: make bench BENCH_ARGS="--only hello,post --rounds 5"
# bench/install.sh installs wrk, nginx-light and h2load (Debian) and the Python peers in bench/.peers-venv.

# The httpsys variants run the built wheel (build/venv-native, `make native`; the `-pure` ones the editable source);
# httpsys-run runs `httpsys run` from that wheel installed alone into a clean bench/.wheel-venv, as a user has it.

BENCH_ARGS ?=
WHEEL_VENV := bench/.wheel-venv

.PHONY: bench bench-quick bench-install bench-daemon

bench-install:
	PY=$(PY) bash bench/install.sh

# A new clean venv for every new wheel: the wheel and its dependencies, nothing else.
$(WHEEL_VENV)/.installed: $(WHEEL)
	rm -rf $(WHEEL_VENV)
	$(PY) -m venv $(WHEEL_VENV)
	$(WHEEL_VENV)/bin/pip install $(PIP_QUIET) "$$(cat $(WHEEL))"
	touch $@

bench: $(STAMP) $(NATIVE) $(WHEEL_VENV)/.installed bench-install
	$(BIN)/python bench/run.py --profile full $(BENCH_ARGS)

bench-quick: $(STAMP) $(NATIVE) $(WHEEL_VENV)/.installed bench-install
	$(BIN)/python bench/run.py --profile quick $(BENCH_ARGS)

bench-daemon: $(STAMP) $(NATIVE) $(WHEEL_VENV)/.installed bench-install
	$(BIN)/python bench/run.py --profile daemon $(BENCH_ARGS)
