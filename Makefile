# Two commands do all set-up on a fresh machine:
#   make demo   create .venv, install .[train], train on full MNIST (EPOCHS=N to shorten), export fp32 + int8,
#               predict the examples
#   make test   create .venv, install .[train,dev,portable,serve], run the test suite (all tiers; portable: the
#               int8 model checked in OpenCV DNN too)
# Also: make lint (ruff check, ruff format --check, lint-imports), make test-runtime (runtime tier, no TF),
# make test-ray / make test-spark (Ray Data / Spark local mode, each in its own venv), make test-browser
# (the web page in headless Chromium), make web-vendor (re-fetch onnxruntime-web, verified).
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
EPOCHS ?=
ARTIFACTS ?= artifacts

RUNTIME_VENV ?= .venv-runtime
RAY_VENV ?= .venv-ray
SPARK_VENV ?= .venv-spark

.PHONY: demo test lint test-runtime test-ray test-spark test-browser web-vendor shipped-model clean fonts fonts-if-possible \
	picture-benchmark

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.train-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[train]'
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[train,dev,portable,serve]'
	touch $@ $(VENV)/.train-installed

demo: $(VENV)/.train-installed
	$(BIN)/mnist-edge train --out $(ARTIFACTS) $(if $(EPOCHS),--epochs $(EPOCHS))
	$(BIN)/mnist-edge export --model $(ARTIFACTS)/model.keras --quantize
	$(BIN)/mnist-edge predict --model $(ARTIFACTS)/model.int8.onnx examples/digits

test: $(VENV)/.dev-installed
	$(BIN)/python -m pytest -m "not ray and not spark and not browser"  # make test-ray, test-spark, test-browser

# ruff lint + format check, and the import contracts that keep the runtime sealed (pyproject.toml).
lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

# Rebuild the pretrained model that ships in the package (best recipe, full MNIST, seed 0; ≈ 15-30 min).
# The best recipe mixes in printed digits: it needs the training fonts (make fonts, as root).
SHIPPED_BUILD ?= build/shipped
shipped-model: $(VENV)/.train-installed fonts-if-possible
	$(BIN)/mnist-edge train --recipe best --seed 1 --out $(SHIPPED_BUILD)
	$(BIN)/mnist-edge export --model $(SHIPPED_BUILD)/model.keras --quantize --portable
	cp $(SHIPPED_BUILD)/model.onnx $(SHIPPED_BUILD)/model.int8.onnx $(SHIPPED_BUILD)/model.int8.portable.onnx \
		mnist_edge/runtime/models/

# The runtime on its own: a venv with only `pip install .` (plus pytest), no TensorFlow/onnx.
test-runtime:
	rm -rf $(RUNTIME_VENV)
	$(PYTHON) -m venv $(RUNTIME_VENV)
	$(RUNTIME_VENV)/bin/pip install --quiet '.[dev]'
	$(RUNTIME_VENV)/bin/python -c "import importlib.util as u, sys; heavy = [m for m in ('tensorflow', 'keras', 'tf2onnx', 'onnx') if u.find_spec(m)]; sys.exit(f'unexpected in a runtime-only install: {heavy}' if heavy else 0)"
	cd tests && ../$(RUNTIME_VENV)/bin/python -m pytest -p no:cacheprovider -c ../pyproject.toml --rootdir .. -m runtime .

# Ray Data in its own venv (the ray extra is ≈ 730 MB, ≈ 50 s to install): the tests marked ray.
test-ray:
	test -x $(RAY_VENV)/bin/python || $(PYTHON) -m venv $(RAY_VENV)
	$(RAY_VENV)/bin/pip install --quiet -e '.[ray,dev]'
	$(RAY_VENV)/bin/python -m pytest -p no:cacheprovider -m ray

# Spark in local mode in its own venv (the spark extra: pyspark ≈ 450 MB; Java 17+, Debian's package installed as
# root when missing): the tests marked spark.
test-spark:
	@if ! command -v java >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends openjdk-17-jre-headless \
			|| (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends openjdk-17-jre-headless); \
		else echo "no java on PATH: Spark needs Java 17 or later (Debian: apt-get install openjdk-17-jre-headless)" >&2; exit 1; fi; \
	fi
	test -x $(SPARK_VENV)/bin/python || $(PYTHON) -m venv $(SPARK_VENV)
	$(SPARK_VENV)/bin/pip install --quiet -e '.[spark,dev]'
	$(SPARK_VENV)/bin/python -m pytest -p no:cacheprovider -m spark

# The web page in headless Chromium (tests/browser/, marker browser): Debian's chromium from apt (as root,
# when missing) driven by Playwright from PyPI; Playwright never downloads a browser here. Screenshots
# land in build/browser-artifacts/.
CHROMIUM ?= /usr/bin/chromium
test-browser: $(VENV)/.dev-installed
	@if [ ! -x $(CHROMIUM) ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium \
			|| (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium); \
		else echo "no Chromium at $(CHROMIUM): install Debian's chromium package (as root), or set CHROMIUM=" >&2; exit 1; fi; \
	fi
	$(BIN)/pip install --quiet -e '.[browser]'
	MNIST_EDGE_CHROMIUM=$(CHROMIUM) $(BIN)/python -m pytest -p no:cacheprovider -m browser tests/browser

# onnxruntime-web for the page: the pinned npm tarball (integrity checked), the three files the page
# loads (each SHA-256 checked) into mnist_edge/web/static/vendor/. Needs npm. The files are committed.
web-vendor: | $(BIN)/python
	$(BIN)/python -m mnist_edge.web.vendor

clean:
	rm -rf $(VENV) $(RUNTIME_VENV) $(RAY_VENV) $(SPARK_VENV) $(ARTIFACTS)/model* $(ARTIFACTS)/*.json .pytest_cache

# Font packages for printed digits: training fonts and the held-out fonts of the picture benchmark
# (the list and the training/held-out split live in mnist_edge/fonts.py). Debian/Ubuntu, as root; ≈ 136 MB.
FONT_PACKAGES = $(shell $(PYTHON) -c "import runpy; print(runpy.run_path('mnist_edge/fonts.py')['FONT_PACKAGES_LINE'])")
fonts:
	apt-get install -y --no-install-recommends $(FONT_PACKAGES)

# For `train --recipe pictures` (printed digits): nothing when a training font is installed; else the
# packages when apt-get can install them (root), else a warning. Never fails: without training fonts
# that recipe trains without printed digits (and training warns again). The edge recipe needs no font.
HAVE_TRAINING_FONTS = $(PYTHON) -c "import runpy, sys; sys.exit(0 if runpy.run_path('mnist_edge/fonts.py')['training_fonts']() else 1)"
fonts-if-possible:
	@if $(HAVE_TRAINING_FONTS); then :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		apt-get install -y --no-install-recommends $(FONT_PACKAGES) \
		|| (apt-get update && apt-get install -y --no-install-recommends $(FONT_PACKAGES)) \
		|| echo "warning: could not install the font packages: training without printed digits"; \
	else \
		echo "warning: no training font installed and apt-get is not usable here (not root?):" \
			"training without printed digits; 'make fonts' as root installs them"; \
	fi

# The picture benchmark (issue 12): generates build/picture-sets once, scores the runtime per condition.
picture-benchmark: $(VENV)/.train-installed
	$(BIN)/python benchmarks/picture_benchmark.py $(if $(CLI),--cli)
