# Glimpse: `make demo` and `make test` do all set-up on a fresh Debian 12
# machine (scripts/setup.sh is idempotent and quick when everything is there).
SHELL := /bin/bash
export PATH := $(HOME)/.cargo/bin:$(PATH)
GLIMPSE_CACHE ?= $(HOME)/.cache/glimpse
export GLIMPSE_CACHE
WITH_ENV := source $(GLIMPSE_CACHE)/v1/env.sh &&
DATA ?= ../shared/data/megc2019-composite
WEIGHTS ?= weights/epir-megc2019.safetensors
BIN := ./target/release/glimpse
# The shipped recipe: the defaults (80 epochs, EMA 0.995, mixup 0.4, seed 42)
# plus test-time mirror averaging.
RECIPE := --test-time-mirror
TRIED := reports/loso-run1-baseline.json reports/loso-run2-ema-mixup.json
# The development-split runs behind every recipe choice (EPIR's; tabled in the card).
DEVELOPMENT := $(shell ls reports/loso-dev-r*.json reports/loso-dev-ensemble-*.json | sort -V)

DEMO_CLIP := assets/demo/astronaut-demo.mp4
DEMO_OUT := target/demo

# Spotting benchmark: ten synthetic 20-s clips (seeds 101-110, 6 events
# each, amplitudes 0.5-3 px, blinks, head motion, noise), generated into
# target/ and scored by the MEGC rule.
SYNTH_SEEDS := 101 102 103 104 105 106 107 108 109 110
SYNTH_DIR := target/eval-synth

.PHONY: setup build test demo eval bench bench-pipeline bench-ui bench-ui-mol eval-spotting loso weights weights-mol screenshots fuzz gpu-check \
	install install-files uninstall

setup:
	@bash scripts/setup.sh

build: setup
	@$(WITH_ENV) cargo build --release

# Lints every target (tests too) as errors, then the whole suite; then the
# model alone (no `app` feature: what scripts/gpu-check.sh carries to a GPU
# machine) is linted and its unit tests run, so it keeps building alone.
test: setup
	@$(WITH_ENV) cargo clippy --release --all-targets -- -D warnings
	@$(WITH_ENV) cargo test --release
	@$(WITH_ENV) cargo clippy --release --no-default-features --lib --bins -- -D warnings
	@$(WITH_ENV) cargo test --release --no-default-features --lib

# The main job: analyse the bundled demo clip (a synthetic interview made
# from a public-domain photo, with known events) and write every export to
# $(DEMO_OUT); score the spotting against the clip's ground truth; then,
# where there is a display, open the session in the app for review.
demo: build
	@$(BIN) analyze $(DEMO_CLIP) --out $(DEMO_OUT) --export all
	@$(BIN) eval-spotting $(DEMO_CLIP)
	@if [ -n "$$DISPLAY" ]; then $(BIN) app $(DEMO_OUT)/astronaut-demo.session.ron; \
	else echo "(no display: 'make screenshots' shows the app under Xvfb)"; fi

# The desktop app on the demo clip, under a virtual X server (config and
# live sessions kept under target/screenshots/, not the user's folders):
# - review/: waits for the analysis, then writes PNGs of the window, the
#   timeline and the event list (at the strongest event's apex);
# - live/: plays the clip as a camera, shoots the live view once the second
#   event is on the face, stops, and shoots the saved session's review.
SHOTS := target/screenshots
XVFB := XDG_CONFIG_HOME=$(CURDIR)/$(SHOTS)/config XDG_DATA_HOME=$(CURDIR)/$(SHOTS)/data \
	xvfb-run -a -s "-screen 0 1280x800x24"
screenshots: build
	@mkdir -p $(SHOTS)
	@$(XVFB) $(BIN) app $(DEMO_CLIP) --screenshot-dir $(SHOTS)/review --exit-after-analysis
	@$(XVFB) $(BIN) app --live-file $(DEMO_CLIP) --live --screenshot-dir $(SHOTS)/live --exit-after-analysis

# The window during a live session (the demo clip played as the camera):
# UI frame time and capture-to-overlay latency.
bench-ui: build
	@$(XVFB) $(BIN) bench ui $(DEMO_CLIP) --out reports/bench-ui.json

# The same with MOL-lite classifying every live event too (--classifier both),
# right after a run without it, so the two are measured under the same load.
bench-ui-mol: build
	@$(XVFB) $(BIN) bench ui $(DEMO_CLIP) --classifier epir --out reports/bench-ui-mol-off.json
	@$(XVFB) $(BIN) bench ui $(DEMO_CLIP) --classifier both --out reports/bench-ui-mol.json

# The shipped weights scored on the labelled set (their own training data,
# so a sanity check, not a generalisation estimate: see weights/README.md).
eval: build
	@$(BIN) eval --weights $(WEIGHTS) --data $(DATA)

bench: build
	@$(BIN) bench model --weights $(WEIGHTS)

bench-pipeline: build
	@$(BIN) bench pipeline $(DEMO_CLIP) --out reports/bench-pipeline.json

eval-spotting: build
	@mkdir -p $(SYNTH_DIR)
	@for seed in $(SYNTH_SEEDS); do [ -f $(SYNTH_DIR)/clip$$seed.mp4 ] || \
		$(BIN) synth --out $(SYNTH_DIR)/clip$$seed.mp4 --seed $$seed --seconds 20 > /dev/null || exit 1; done
	@$(BIN) eval-spotting $(SYNTH_DIR)/clip*.mp4 --out reports/eval-spotting-synth.json

# Reproduce the LOSO report and the shipped weights + model card.
loso: build
	@$(BIN) train --protocol loso --data $(DATA) $(RECIPE) --out reports/loso-megc2019.json

# The card quotes the CPU benchmark, so take it first (latency does not
# depend on the weights' values, only on the architecture).
weights: build
	@$(BIN) --device cpu bench model $(RECIPE) --out reports/bench-model.json
	@$(BIN) train --protocol all --data $(DATA) $(RECIPE) --weights-out $(WEIGHTS) \
		--loso-report reports/loso-megc2019.json --also-tried $(TRIED) --bench-report reports/bench-model.json \
		--development-reports $(DEVELOPMENT)

# MOL-lite on all 442 samples with the development-measured recipe (lr 1e-3,
# 10 epochs), its card quoting that recipe's development-split LOSO run.
# Writes weights/mol-lite-megc2019.{safetensors,ron,md}; a few minutes on one core.
MOL_WEIGHTS := weights/mol-lite-megc2019.safetensors
weights-mol: build
	@$(BIN) --device cpu train --model mol-lite --protocol all --data $(DATA) --lr 1e-3 --epochs 10 \
		--weights-out $(MOL_WEIGHTS) --loso-report reports/loso-dev-mol-lite-lr1e-3.json

# The fuzz targets (fuzz/), 60 s each, on the nightly toolchain; new inputs
# go to target/fuzz-corpus/, the seeds in fuzz/corpus/ stay as they are.
# (build.rs gives only the glimpse binary its rpath: the fuzz binaries find
# libtorch through LD_LIBRARY_PATH.)
FUZZ_SECONDS ?= 60
fuzz: setup
	@command -v cargo-fuzz > /dev/null || cargo install cargo-fuzz --version 0.13.2 --locked
	@for t in session_ron labels_csv; do mkdir -p target/fuzz-corpus/$$t; \
		(cd fuzz && $(WITH_ENV) LD_LIBRARY_PATH=$$LIBTORCH/lib cargo +nightly fuzz run -s none $$t \
			../target/fuzz-corpus/$$t corpus/$$t \
			-- -max_total_time=$(FUZZ_SECONDS) -max_len=4096) || exit 1; done

# The model alone (no OpenCV, egui or cameras) built for a GPU machine that
# has libtorch: see scripts/gpu-check.sh. This stages .gpu/; the run there
# is `bash scripts/gpu-check.sh run` with .gpu carried.
gpu-check:
	@bash scripts/gpu-check.sh prepare

# Installed use: `make install` builds, then puts the binary in BINDIR, the
# data files (weights with their config and card, the converted face
# models, the astronaut photo, the demo clip) in DATAROOTDIR/glimpse, where
# the binary looks for them (src/resources.rs), and a desktop entry and an
# icon in place. PREFIX defaults to ~/.local, the XDG user folders; DESTDIR
# stages a package. The binary still loads libtorch from set-up's venv in
# the cache (an rpath, build.rs): that venv must stay.
# The desktop entry's Exec names the binary by its full path: a desktop
# session's PATH often lacks ~/.local/bin.
# `make uninstall` (same variables) removes exactly those files, and the
# folders of glimpse/ they leave empty; live sessions (glimpse/live) stay.
PREFIX ?= $(HOME)/.local
BINDIR ?= $(PREFIX)/bin
DATAROOTDIR ?= $(PREFIX)/share
GLIMPSE_DATADIR := $(DATAROOTDIR)/glimpse
APPLICATIONS_DIR := $(DATAROOTDIR)/applications
ICON_DIR := $(DATAROOTDIR)/icons/hicolor/scalable/apps
SETUP_CACHE := $(GLIMPSE_CACHE)/v1
MTCNN_MODEL := mtcnn-facenet-pytorch-2.6.0
FACE_MESH_MODEL := face-mesh-mediapipe-0.10.21
# Each data file as DESTINATION=SOURCE, the destination under glimpse/ (the
# layout src/resources.rs searches), the converted models from set-up's cache.
DATA_FILES := \
	weights/epir-megc2019.safetensors=weights/epir-megc2019.safetensors \
	weights/epir-megc2019.ron=weights/epir-megc2019.ron \
	weights/README.md=weights/README.md \
	weights/mol-lite-megc2019.safetensors=weights/mol-lite-megc2019.safetensors \
	weights/mol-lite-megc2019.ron=weights/mol-lite-megc2019.ron \
	weights/mol-lite-megc2019.md=weights/mol-lite-megc2019.md \
	models/$(MTCNN_MODEL)/pnet.safetensors=$(SETUP_CACHE)/$(MTCNN_MODEL)/pnet.safetensors \
	models/$(MTCNN_MODEL)/rnet.safetensors=$(SETUP_CACHE)/$(MTCNN_MODEL)/rnet.safetensors \
	models/$(MTCNN_MODEL)/onet.safetensors=$(SETUP_CACHE)/$(MTCNN_MODEL)/onet.safetensors \
	models/$(FACE_MESH_MODEL)/face_mesh.safetensors=$(SETUP_CACHE)/$(FACE_MESH_MODEL)/face_mesh.safetensors \
	models/$(FACE_MESH_MODEL)/graph.json=$(SETUP_CACHE)/$(FACE_MESH_MODEL)/graph.json \
	images/astronaut.png=$(SETUP_CACHE)/assets-scikit-image-0.24.0/astronaut.png \
	demo/astronaut-demo.mp4=assets/demo/astronaut-demo.mp4 \
	demo/astronaut-demo.mp4.truth.json=assets/demo/astronaut-demo.mp4.truth.json
DATA_FOLDERS := models/$(MTCNN_MODEL) models/$(FACE_MESH_MODEL) models weights images demo

install: build
	@$(MAKE) --no-print-directory install-files

# The copying alone, of the binary already built (BIN): what `install` runs
# after building, and what tests/install.rs runs into a temporary home.
# Folders get 755 and files 644 (the binary 755) whatever the caller's umask.
install-files:
	@umask 022 && \
	for pair in $(DATA_FILES); do source=$${pair#*=}; [ -f "$$source" ] || \
		{ echo "$$source is missing: run 'make setup'" >&2; exit 1; }; done && \
	install -D -m 755 $(BIN) $(DESTDIR)$(BINDIR)/glimpse && \
	for pair in $(DATA_FILES); do \
		install -D -m 644 "$${pair#*=}" "$(DESTDIR)$(GLIMPSE_DATADIR)/$${pair%%=*}" || exit 1; done && \
	install -d $(DESTDIR)$(APPLICATIONS_DIR) && \
	sed 's|^Exec=glimpse |Exec=$(BINDIR)/glimpse |' assets/glimpse.desktop \
		> $(DESTDIR)$(APPLICATIONS_DIR)/glimpse.desktop && \
	install -D -m 644 assets/glimpse.svg $(DESTDIR)$(ICON_DIR)/glimpse.svg && \
	echo "installed $(DESTDIR)$(BINDIR)/glimpse, its data in $(DESTDIR)$(GLIMPSE_DATADIR)," \
		"$(DESTDIR)$(APPLICATIONS_DIR)/glimpse.desktop and $(DESTDIR)$(ICON_DIR)/glimpse.svg"

uninstall:
	@rm -f $(DESTDIR)$(BINDIR)/glimpse $(DESTDIR)$(APPLICATIONS_DIR)/glimpse.desktop $(DESTDIR)$(ICON_DIR)/glimpse.svg
	@for pair in $(DATA_FILES); do rm -f "$(DESTDIR)$(GLIMPSE_DATADIR)/$${pair%%=*}"; done
	@for folder in $(DATA_FOLDERS); do [ ! -d "$(DESTDIR)$(GLIMPSE_DATADIR)/$$folder" ] || \
		rmdir --ignore-fail-on-non-empty "$(DESTDIR)$(GLIMPSE_DATADIR)/$$folder"; done
	@[ ! -d "$(DESTDIR)$(GLIMPSE_DATADIR)" ] || rmdir --ignore-fail-on-non-empty "$(DESTDIR)$(GLIMPSE_DATADIR)"
	@echo "uninstalled glimpse from $(DESTDIR)$(PREFIX)"
