# Two commands set everything up on a fresh machine: `make book` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TSTAMP := $(VENV)/.installed-test
JOBS   ?= 2
# Small matrices at batch 32: one BLAS thread per process is faster than two fighting over 2 cores.
BLAS1  := OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1

# The numeric tests run a second time under another OpenBLAS kernel, so that a test which
# depends on one CPU's rounding (summation order, FMA) fails here and not only elsewhere.
NUMERIC_TESTS := tests/test_activations.py tests/test_gradcheck.py tests/test_nn.py tests/test_data.py tests/test_experiment.py
ALT_CORETYPE  ?= $(if $(filter aarch64 arm64,$(shell uname -m)),ARMV8,Sandybridge)

.PHONY: venv book test exercises grade bench clean lab instructor-lab validate

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	touch $(STAMP)

# Tests also use PyTorch as a second reference; learners who only build the book don't need it.
$(TSTAMP): $(STAMP) benchmarks/requirements.txt
	$(BIN)/python -m pip install -q -r benchmarks/requirements.txt
	touch $(TSTAMP)

venv: $(STAMP)

book: $(STAMP)
	$(BLAS1) $(BIN)/jupyter-book build . -W -n --keep-going

test: $(TSTAMP)
	$(BLAS1) $(BIN)/python -m pytest -n $(JOBS) --dist loadgroup
	$(BLAS1) OPENBLAS_CORETYPE=$(ALT_CORETYPE) $(BIN)/python -m pytest -n $(JOBS) -q -p no:cacheprovider $(NUMERIC_TESTS)

exercises: $(STAMP)
	$(BIN)/actlab exercises

grade: $(STAMP)
	@test -n "$(SUBMITTED)" || { echo "usage: make grade SUBMITTED=folder [OUT=folder]"; exit 2; }
	$(BIN)/actlab grade $(SUBMITTED) $(if $(OUT),--out $(OUT),)

# JupyterLab on 127.0.0.1 for learners, on the work copy mywork/ (created from exercises/).
lab: $(STAMP)
	$(BIN)/actlab lab

# The same Lab with nbgrader's instructor tools (formgrader, create assignment, course list).
instructor-lab: $(STAMP)
	$(BIN)/actlab lab --instructor

# Exit status 1 when the notebook would lose points (nbgrader validate always exits 0).
validate: $(STAMP)
	@test -n "$(FILE)" || { echo "usage: make validate FILE=mywork/<name>/<name>.ipynb"; exit 2; }
	$(BIN)/actlab validate $(FILE)

bench: $(TSTAMP)
	$(BIN)/python benchmarks/bench_mlp.py
	$(BIN)/python benchmarks/bench_grading.py
	$(BIN)/python benchmarks/bench_book.py

clean:
	rm -rf _build .pytest_cache .hypothesis grading-work
	find . -name __pycache__ -not -path "./$(VENV)/*" -prune -exec rm -rf {} +
