# Two commands set everything up on a fresh machine: `make book` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
BSTAMP := $(VENV)/.installed-bench
JOBS   ?= 2
# Small matrices at batch 32: one BLAS thread per process is faster than two fighting over 2 cores.
BLAS1  := OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1

# The numeric tests run a second time under another OpenBLAS kernel, so that a test which
# depends on one CPU's rounding (summation order, FMA) fails here and not only elsewhere.
NUMERIC_TESTS := tests/test_activations.py tests/test_gradcheck.py tests/test_nn.py tests/test_fastpath.py tests/test_data.py tests/test_experiment.py
ALT_CORETYPE  ?= $(if $(filter aarch64 arm64,$(shell uname -m)),ARMV8,Sandybridge)

.PHONY: venv book test exercises grade release bench torch-reference clean lab instructor-lab validate

$(STAMP): requirements.txt pyproject.toml jupyter-config/actlab.json
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	# Every Jupyter started from the venv loads actlab's repair of formgrader's 404 page
	# (an editable install does not place data files, so it is copied here).
	mkdir -p $(VENV)/etc/jupyter/jupyter_server_config.d
	cp jupyter-config/actlab.json $(VENV)/etc/jupyter/jupyter_server_config.d/actlab.json
	touch $(STAMP)

# PyTorch, for the benchmarks and for rewriting the tests' stored PyTorch answers
# (tests/reference); neither the book nor the tests need it.
$(BSTAMP): $(STAMP) benchmarks/requirements.txt
	$(BIN)/python -m pip install -q -r benchmarks/requirements.txt
	touch $(BSTAMP)

venv: $(STAMP)

book: $(STAMP)
	$(BLAS1) $(BIN)/jupyter-book build . -W -n --keep-going

test: $(STAMP)
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

# The student bundle to upload to the LMS: exercises, the course library as a wheel, pinned
# requirements and instructions, in _build/release/activation-functions-exercises.zip.
release: $(STAMP)
	$(BIN)/python -m actlab.release

bench: $(BSTAMP)
	$(BIN)/python benchmarks/bench_mlp.py
	$(BIN)/python benchmarks/bench_grading.py
	$(BIN)/python benchmarks/bench_validate.py
	$(BIN)/python benchmarks/bench_book.py

torch-reference: $(BSTAMP)
	$(BIN)/python tests/reference/make_torch_reference.py

clean:
	rm -rf _build .pytest_cache .hypothesis grading-work
	find . -name __pycache__ -not -path "./$(VENV)/*" -prune -exec rm -rf {} +
