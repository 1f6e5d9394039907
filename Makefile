# netfence: one entry point.  make | make test | make unit | make root-test | make bench
#                             make static | make test-kernels
#                             make install | make vmlinux | make format | make clean
# Quiet by default; V=1 shows the commands.

BUILD      ?= build
CC         ?= gcc
CLANG      ?= clang
BPFTOOL    ?= bpftool
PREFIX     ?= /usr/local
DESTDIR    ?=
ARCH       := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
VERSION    := $(shell cat VERSION 2>/dev/null || echo 0.0.0)

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

WARN       := -Wall -Wextra -Werror
# snprintf into PATH_MAX buffers from bounded parts: truncation is checked where it can occur
USER_WARN  := -Wno-format-truncation
CFLAGS     ?= -O2 -g
CFLAGS     += $(WARN) $(USER_WARN) -std=gnu11 -D_GNU_SOURCE -Iinclude -Iuser -I$(BUILD) \
              -DNETFENCE_VERSION='"$(VERSION)"' -MMD -MP
LDLIBS     := -lbpf -lelf -lz $(shell pkg-config --libs libseccomp 2>/dev/null || echo -lseccomp) \
              $(shell pkg-config --libs libidn2 2>/dev/null || echo -lidn2)
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) $(WARN) -I. -Iinclude \
              -Wno-unused-parameter -MMD -MP

BPF_SRCS   := $(wildcard bpf/*.bpf.c)
BPF_OBJS   := $(patsubst bpf/%.bpf.c,$(BUILD)/%.bpf.o,$(BPF_SRCS))
SKELS      := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))
USER_SRCS  := $(wildcard user/*.c)
USER_OBJS  := $(patsubst user/%.c,$(BUILD)/user/%.o,$(USER_SRCS))
LIB_OBJS   := $(filter-out $(BUILD)/user/main.o,$(USER_OBJS))
UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
TOOL_SRCS  := $(wildcard tools/*.c)
TOOL_BINS  := $(patsubst tools/%.c,$(BUILD)/tools/%,$(TOOL_SRCS))

.DELETE_ON_ERROR:
# keep intermediates (the BPF object, the skeleton): a second `make` does nothing
.SECONDARY:
.PHONY: all deps test unit root-test demo soak bench test-kernels test-docker install uninstall vmlinux format clean

all: $(BUILD)/netfence $(TOOL_BINS)

# What a build needs, checked before anything is compiled: one line naming the missing
# Debian packages instead of a compiler error halfway (goals that build nothing skip it).
NO_DEPS_GOALS := deps clean format docs uninstall vmlinux
ifneq ($(filter-out $(NO_DEPS_GOALS),$(or $(MAKECMDGOALS),all)),)
MISSING_PKGS := $(shell CC='$(CC)' CLANG='$(CLANG)' BPFTOOL='$(BPFTOOL)' bash scripts/build-deps.sh)
ifneq ($(MISSING_PKGS),)
$(error missing build packages: $(MISSING_PKGS); `make deps` installs them)
endif
endif

deps:
	$(Q)bash scripts/install-deps.sh

$(BUILD) $(BUILD)/user $(BUILD)/tests $(BUILD)/tools:
	$(Q)mkdir -p $@

# bpf/foo.bpf.c -> build/foo.bpf.o -> build/foo.skel.h -> build/netfence
$(BUILD)/%.bpf.o: bpf/%.bpf.c include/netfence.h vmlinux.h | $(BUILD)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

$(BUILD)/user/%.o: user/%.c | $(BUILD)/user $(SKELS)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/netfence: $(USER_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ -o $@ $(LDFLAGS) $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJS) | $(BUILD)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< $(LIB_OBJS) -o $@ $(LDFLAGS) $(LDLIBS) -lcmocka

$(BUILD)/tools/%: tools/%.c | $(BUILD)/tools
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< -o $@ $(LDFLAGS) $(TOOL_LDLIBS_$*)

# The README's main job: a real command under `netfence run` against local servers.
demo:
	$(Q)bash scripts/demo.sh

# All tests: unit tests and shell suites (no privileges), then the root suite on the real kernel.
test: deps
	$(Q)$(MAKE) --no-print-directory all static $(UNIT_BINS)
	$(Q)bash tests/run.sh all

unit: all $(UNIT_BINS)
	$(Q)bash tests/run.sh unit

root-test: all static
	$(Q)bash tests/run.sh root

# Bounded load through the enforcer and Squid (SOAK_N requests each way).
soak: all
	$(Q)bash scripts/soak.sh

# Benchmarks: ratios against a no-policy baseline from the same run.
bench: all
	$(Q)bash scripts/bench.sh

# The root suites in qemu guests on Debian's 5.10, 6.1 and 6.12 kernels
# (KERNELS=5.10,6.1,6.12 chooses; downloads cached in /var/cache/netfence-kernels).
test-kernels: all static
	$(Q)KERNELS="$(KERNELS)" bash scripts/test-kernels.sh

# docs/docker.md with a real Docker engine of its own (dockerd, compose, images)
test-docker: all
	$(Q)bash tests/docker/test_docker.sh

# Kernel types for CO-RE. Committed; regenerate on a machine with BTF.
vmlinux:
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux.h.tmp
	$(Q)mv vmlinux.h.tmp vmlinux.h

format:
	$(Q)clang-format -i bpf/*.c include/*.h user/*.c user/*.h tools/*.c tests/unit/*.c

clean:
	rm -rf $(BUILD)

# Feature fragments (install, sanitizers, fuzzing, ...): one file per concern.
include $(wildcard mk/*.mk)

-include $(wildcard $(BUILD)/*.d $(BUILD)/user/*.d $(BUILD)/tests/*.d $(BUILD)/tools/*.d)
