# The two commands a newcomer needs: `make lab` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
ARGS   ?=

.PHONY: lab test lint unit lessons bytecode outputs bench binder-check etcd clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.lab: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[lab]'
	touch $@

$(VENV)/.test: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

lab: $(VENV)/.lab  ## open JupyterLab on the lessons
	$(BIN)/jupyter lab notebooks/ $(ARGS)

test: lint unit lessons  ## every test: lint, unit tests, every lesson under nbval

lint: $(VENV)/.test
	$(BIN)/ruff check kubelearn tests benchmarks

unit: $(VENV)/.test bytecode
	$(BIN)/python -m pytest tests $(ARGS)

lessons: $(VENV)/.test bytecode
	$(BIN)/python -m pytest --nbval --nbval-current-env --nbval-sanitize-with notebooks/sanitize.cfg notebooks $(ARGS)

# Each lesson's kernel imports kubelearn afresh. Where PYTHONDONTWRITEBYTECODE is set (this
# project's machines and CI set it), no import writes __pycache__, and every kernel would compile
# all of kubelearn again (about a second of CPU); compileall writes it once (only what changed).
bytecode: $(VENV)/.test
	$(BIN)/python -m compileall -q kubelearn

outputs: $(VENV)/.test  ## re-run lessons in place to refresh their outputs: make outputs NB=notebooks/08_kube_proxy.ipynb
	$(BIN)/python -c 'import sys, nbformat, nbclient; \
	[nbformat.write(nbclient.NotebookClient(nbformat.read(p, 4), timeout=600, kernel_name="python3", \
	  store_widget_state=True, record_timing=False, resources={"metadata": {"path": "notebooks"}}).execute(), p) \
	 for p in sys.argv[1:]]' $(or $(NB),notebooks/*.ipynb)

bench: $(VENV)/.test  ## print speed figures
	$(BIN)/python benchmarks/etcd_store.py
	$(BIN)/python benchmarks/apiserver.py
	$(BIN)/python benchmarks/scheduler.py
	$(BIN)/python benchmarks/cluster.py
	$(BIN)/python benchmarks/proxy.py
	$(BIN)/python benchmarks/raft.py

etcd: $(VENV)/.lab  ## a local 3-member etcd (Debian's etcd-server) on 2379, 22379, 32379; Ctrl-C stops it
	$(BIN)/python -m kubelearn.etcd.localcluster $(ARGS)

binder-check:  ## build binder/'s environment in a fresh venv and run a lesson there
	$(BIN)/python -m pytest tests/test_binder.py -m binder $(ARGS)

clean:
	rm -rf $(VENV) build *.egg-info
