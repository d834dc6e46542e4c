# gpurun — the commands a developer and CI use. `make help` lists them.

GO        ?= go
BIN       := bin
MODEL     ?= models/SmolLM2-135M-Instruct.Q4_1.gguf
# bytes of the model that travel in bin/device-smol (56 MiB; make device-bundle)
SMOL_PART1 := 58720256
PROMPT    ?= The three primary colors are
NVCC      ?= nvcc
FATBIN    := runtime/cuda/kernels.fatbin
KERNELS   := $(wildcard kernels/*.cu)
# Warnings are errors, and a register spill is one (-warn-spills): a kernel
# that spills is slow on every GPU, and CI can catch it without one.
NVCCFLAGS := -fatbin -O3 -std=c++17 -Ikernels -Werror all-warnings -Xptxas -warn-spills \
             -gencode arch=compute_80,code=sm_80 \
             -gencode arch=compute_90,code=[sm_90,compute_90]
# Packages whose tests are quick enough for the race detector on 2 cores.
RACE_PKGS ?= ./runtime/gguf/... ./runtime/sampler/... ./runtime/kvcache/... ./runtime/engine/... ./runtime/server/... ./tokenizer/...

.PHONY: help build demo test test-short vet race fuzz bench model kernels emu build-cuda check-cuda device-bundle check-generated clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

build: ## build bin/gpurun (pure Go, CPU backend)
	$(GO) build -buildvcs=auto -o $(BIN)/gpurun ./cmd/gpurun

model: $(MODEL) ## fetch the default model (SmolLM2-135M-Instruct Q4_1) into models/

$(MODEL):
	scripts/fetch-model.sh $(dir $(MODEL))

demo: build model ## fetch the model if missing, build, and generate from a fixed prompt
	$(BIN)/gpurun generate -m $(MODEL) -p "$(PROMPT)" -n 64

vet: ## go vet the default build
	$(GO) vet ./...

check-generated: ## gofmt is clean and generated files match their generators
	@test -z "$$(gofmt -l .)" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	cd runtime/quant && $(GO) run gen_matmul.go
	@git diff --exit-code --stat runtime/quant/matmul_amd64.s runtime/quant/matmul_decl_amd64.go || { echo "runtime/quant/matmul_amd64.s or matmul_decl_amd64.go is stale: commit the regenerated files"; exit 1; }

test: vet check-generated ## vet + every test (CPU path, fixtures, model goldens, emulated kernels)
	$(GO) test -timeout 30m ./...
	$(GO) test -race -short -timeout 20m $(RACE_PKGS)
	# the portable (non-assembly) quant kernels against llama.cpp's logits too
	GPURUN_QUANT_NOASM=1 $(GO) test -count=1 -run 'TestQuantModels' ./runtime/engine
	# and the AVX2 kernels where the CPU has AVX-512 VNNI too (no-op elsewhere)
	GPURUN_QUANT_NOVNNI=1 $(GO) test -count=1 -run 'TestQuantModels' ./runtime/engine

test-short: ## the quick tests only
	$(GO) test -short ./...

fuzz: ## run each fuzz target for FUZZTIME (default 60s; new inputs are minimised for 5s at most, not the default 60s that stalls on inputs of kilobytes)
	@for t in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do \
	  for f in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$t/*_test.go | cut -d' ' -f2); do \
	    echo "== $$t $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $${FUZZTIME:-60s} -fuzzminimizetime 5s $$t || exit 1; \
	  done; done

bench: ## Go benchmarks (quant dot products, tokenizer, ops)
	$(GO) test -run '^$$' -bench . -benchmem ./runtime/... ./tokenizer/... ./bench/...

kernels: $(FATBIN) ## compile kernels/*.cu into one fatbin (needs nvcc)

# The .sum records the sources the fatbin was built from (TestFatbinIsFresh).
$(FATBIN): $(KERNELS) $(wildcard kernels/*.cuh)
	$(NVCC) $(NVCCFLAGS) -o $@ kernels/all.cu
	LC_ALL=C sha256sum kernels/*.cu kernels/*.cuh > $@.sum

emu: ## the CUDA backend's parity tests on the kernel emulator (no GPU; g++ compiles kernels/*.cu)
	$(GO) test -count=1 ./runtime/cuda/...

build-cuda: kernels ## build bin/gpurun with the CUDA backend (-tags cuda; needs nvcc + libcuda)
	$(GO) build -buildvcs=auto -tags cuda -o $(BIN)/gpurun ./cmd/gpurun
	$(GO) test -tags cuda -c -o $(BIN)/cuda.test ./runtime/cuda

# DEVICE_TAGS= (empty) builds the bundle without CUDA, for a smoke test of
# the device script on a machine without a GPU: DEVICE=cpu scripts/device-check.sh
# (a CUDA build exits at start-up where the driver finds no device).
DEVICE_TAGS ?= cuda
device-bundle: kernels model ## inputs for scripts/device-check.sh: bin/device and bin/device-smol (see the script for the two runs)
	rm -rf $(BIN)/device $(BIN)/device-smol
	mkdir -p $(BIN)/device/x $(BIN)/device-smol
	$(GO) build -buildvcs=auto -tags '$(DEVICE_TAGS)' -ldflags='-s -w' -o $(BIN)/device/x/gpurun ./cmd/gpurun
	$(GO) test -tags '$(DEVICE_TAGS)' -ldflags='-s -w' -c -o $(BIN)/device/x/cuda.test ./runtime/cuda
	$(GO) test -tags '$(DEVICE_TAGS)' -ldflags='-s -w' -c -o $(BIN)/device/x/engine.test ./runtime/engine
	$(GO) build -ldflags='-s -w' -o $(BIN)/device/x/mkmodel ./cmd/mkmodel
	# compressed, so that binaries and the real model fit two 64 MiB device runs
	for f in $(BIN)/device/x/*; do gzip -9 -c $$f > $(BIN)/device/$$(basename $$f).gz; done
	rm -rf $(BIN)/device/x
	install -m 644 ../shared/fixtures/stories260K/stories260K.gguf ../shared/fixtures/stories260K/expected_test_all_t0_n200.txt $(BIN)/device/
	# the real SmolLM2 file in two parts: part 1 travels in the first run, part 2 in the second
	head -c $(SMOL_PART1) $(MODEL) > $(BIN)/device-smol/smollm2.part1
	tail -c +$$(($(SMOL_PART1) + 1)) $(MODEL) > $(BIN)/device/smollm2.part2
	git rev-parse --short HEAD > $(BIN)/device/COMMIT
	@du -sh $(BIN)/device $(BIN)/device-smol

check-cuda: kernels ## what CI can check of the CUDA path without a GPU: compile, vet, build
	$(GO) vet -tags cuda ./...
	$(GO) build -tags cuda ./...

clean: ## remove build outputs
	rm -rf $(BIN) $(FATBIN)
