# Benchmark targets, included from the top-level Makefile (`include bench/bench.mk`, after $(STAMP) and $(BIN)
# are defined). Never part of `make test`: the load runs minutes and needs both CPUs to itself.
#   make bench         every scenario, 3 interleaved rounds (about 11 minutes)
#   make bench-quick   hello world, 10 MiB file (4 MiB buffers), cached response, idle connections: 1 round (< 2 min)
# Extra arguments for bench/run.py: make bench BENCH_ARGS="--only hello,post --rounds 5"
# bench/install.sh installs wrk, nginx-light and h2load (Debian) and the Python peers in bench/.peers-venv.

BENCH_ARGS ?=

.PHONY: bench bench-quick bench-install

bench-install:
	PY=$(PY) bash bench/install.sh

bench: $(STAMP) $(NATIVE) bench-install
	$(BIN)/python bench/run.py --profile full $(BENCH_ARGS)

bench-quick: $(STAMP) $(NATIVE) bench-install
	$(BIN)/python bench/run.py --profile quick $(BENCH_ARGS)
