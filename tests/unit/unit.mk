# Host unit tests: one binary per tests/unit/test_*.c, linked against libkvsm.
# build/tests/unit/ holds only test binaries (dependency files go to build/tests/dep/).
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(B)/tests/unit/%)
UNIT_HDRS := $(wildcard tests/unit/*.h)

# The kernel parser fuzz test again, with the parser itself built under ASan/UBSan.
KERNEL_ASAN_SRCS := src/loader/kernel.c src/guest_mem.c src/util.c
SANITIZE := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

unit: $(UNIT_BINS) $(B)/tests/unit/test_kernel_asan $(B)/tests/cli/mkkernel

$(B)/tests/unit/%: tests/unit/%.c $(B)/libkvsm.a $(UNIT_HDRS)
	@mkdir -p $(@D)
	@mkdir -p $(B)/tests/dep
	$(CC) $(CFLAGS) -MF $(B)/tests/dep/$(@F).d -o $@ $< $(B)/libkvsm.a $(LDLIBS)

$(B)/tests/unit/test_kernel_asan: tests/unit/test_kernel.c $(KERNEL_ASAN_SRCS) $(UNIT_HDRS) $(wildcard src/*.h src/loader/*.h)
	@mkdir -p $(@D)
	$(CC) $(filter-out -MMD -MP,$(CFLAGS)) $(SANITIZE) -o $@ $< $(KERNEL_ASAN_SRCS) $(LDLIBS)

# Writes the malformed kernels tests/cli/run-errors.sh feeds to kvsm (not a unit test itself).
$(B)/tests/cli/mkkernel: tests/cli/mkkernel.c $(UNIT_HDRS)
	@mkdir -p $(@D)
	$(CC) $(filter-out -MMD -MP,$(CFLAGS)) -o $@ $<
