# Two commands do all set-up on a fresh machine:
#   make demo   create .venv, install .[train], train on full MNIST, export fp32 + int8, predict the examples
#   make test   create .venv, install .[train,dev], run the test suite
#
# Data: $(MNIST_EDGE_DATA) if set; else ../shared/data/mnist if it exists beside this clone;
# else the Keras cache or a Keras download (needs internet).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SHARED_MNIST := $(wildcard ../shared/data/mnist)
ifeq ($(strip $(MNIST_EDGE_DATA)),)
ifneq ($(SHARED_MNIST),)
export MNIST_EDGE_DATA := $(abspath $(SHARED_MNIST))
endif
endif
EPOCHS ?= 5
ARTIFACTS ?= artifacts

.PHONY: demo test clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.train-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[train]'
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[train,dev]'
	touch $@ $(VENV)/.train-installed

demo: $(VENV)/.train-installed
	$(BIN)/mnist-edge train --epochs $(EPOCHS) --out $(ARTIFACTS)
	$(BIN)/mnist-edge export --model $(ARTIFACTS)/model.keras --quantize
	$(BIN)/mnist-edge predict --model $(ARTIFACTS)/model.int8.onnx examples/digits

test: $(VENV)/.dev-installed
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) $(ARTIFACTS)/model* $(ARTIFACTS)/*.json .pytest_cache
