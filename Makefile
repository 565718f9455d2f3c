# The two commands a new user needs: `make demo` and `make test`. Each sets itself up from scratch:
# .venv gets the exact pins of requirements.txt and the package itself (editable, with its train,
# notebooks and test extras), so any kernel or script run from .venv imports attent_jax from any folder.
# `make lab` opens the notebooks in JupyterLab.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
FASHION_MNIST_DIR ?= /usr/share/datasets/fashion-mnist
WORKDIR ?= runs/demo

.PHONY: demo test lab fashion-mnist clean

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -e ".[train,notebooks,test]"
	touch $@

# Debian's dataset-fashion-mnist package when its files are missing and apt is usable; otherwise the demo
# falls back to the tfds catalog download (network needed).
fashion-mnist:
	@if [ ! -e $(FASHION_MNIST_DIR)/train-images-idx3-ubyte.gz ] && command -v apt-get >/dev/null \
	    && [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist || true; fi

demo: $(STAMP) fashion-mnist
	$(PY) -m experiments.demo --workdir=$(WORKDIR) --fashion_mnist_dir=$(FASHION_MNIST_DIR)

test: $(STAMP)
	$(PY) -m pytest -n 2 --dist loadgroup --durations=15 tests

lab: $(STAMP)
	$(VENV)/bin/jupyter lab notebooks/

clean:
	rm -rf $(VENV) runs
