# kvsm build. Outputs go under build/.
CC      ?= gcc
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -Wall -Wextra -Wshadow -Wno-unused-parameter -Werror=implicit-function-declaration \
           -D_GNU_SOURCE -MMD -MP -Isrc -Iinclude -I$(B)/gen
LDLIBS  += -lpthread -lZydis

B := build

# libkvsm: everything but the CLI.
LIB_SRCS := $(filter-out src/main.c src/builtin-%.c,$(wildcard src/*.c src/*/*.c))
CLI_SRCS := src/main.c $(wildcard src/builtin-*.c)
LIB_OBJS := $(LIB_SRCS:%.c=$(B)/%.o)
CLI_OBJS := $(CLI_SRCS:%.c=$(B)/%.o)

.PHONY: all deps check check-qemu demo clean unit guests fuzz install
all: $(B)/kvsm $(B)/libkvsm.a

deps:
	@scripts/install-deps.sh

$(B)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

$(B)/libkvsm.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

# --wrap=ioctl: every ioctl goes through kvsm bench's profile (src/builtin-bench-ioctl.c), off unless it runs.
$(B)/kvsm: $(CLI_OBJS) $(B)/libkvsm.a $(B)/bench/bench_guest_blob.o
	$(CC) $(CFLAGS) -Wl,--wrap=ioctl -o $@ $^ $(LDLIBS)

include src/hv/lib.mk
include tests/unit/unit.mk
include tests/fuzz/fuzz.mk
include tests/guest/guest.mk
include bench/bench.mk

check: deps
	@$(MAKE) --no-print-directory all unit guests $(FUZZ_BINS) $(B)/tsan/kvsm
	@tests/run-tests.sh

# make check where /dev/kvm is missing: every test, guests included, inside a QEMU-emulated
# machine with SVM whose own kernel runs KVM (tests/kvm-in-qemu/). Slow; not part of check.
check-qemu: deps
	@$(MAKE) --no-print-directory all unit guests $(FUZZ_BINS) $(B)/tsan/kvsm
	@tests/kvm-in-qemu/setup.sh
	@tests/kvm-in-qemu/run.sh 'KVSM_GUEST_TIMEOUT=300 tests/run-tests.sh'

demo: deps
	@$(MAKE) --no-print-directory all guests
	@# The demo guest reports success through debug-exit value 0, i.e. exit status 1.
	$(B)/kvsm run --vtls 2 $(B)/guests/demo.elf || [ $$? -eq 1 ]

clean:
	rm -rf $(B)

-include $(shell find $(B) -name '*.d' 2>/dev/null)
