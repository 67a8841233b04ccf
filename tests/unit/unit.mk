# Host unit tests: one binary per tests/unit/test_*.c, linked against libkvsm, and each
# again as *_asan against a libkvsm built with ASan and UBSan.
# build/tests/unit/ holds only test binaries (dependency files go to build/tests/dep/).
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(B)/tests/unit/%)
UNIT_ASAN_BINS := $(UNIT_SRCS:tests/unit/%.c=$(B)/tests/unit/%_asan)
UNIT_HDRS := $(wildcard tests/unit/*.h)
SANITIZE := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
ASAN_LIB_OBJS := $(LIB_SRCS:%.c=$(B)/asan/%.o)

unit: $(UNIT_BINS) $(UNIT_ASAN_BINS) $(B)/tests/cli/mkkernel $(B)/tests/cli/mktimeline $(B)/tests/cli/ioctl_fault.so

$(B)/tests/unit/%_asan: tests/unit/%.c $(B)/asan/libkvsm.a $(UNIT_HDRS)
	@mkdir -p $(@D)
	$(CC) $(filter-out -MMD -MP,$(CFLAGS)) $(SANITIZE) -o $@ $< $(B)/asan/libkvsm.a $(LDLIBS)

$(B)/tests/unit/%: tests/unit/%.c $(B)/libkvsm.a $(UNIT_HDRS)
	@mkdir -p $(@D)
	@mkdir -p $(B)/tests/dep
	$(CC) $(CFLAGS) -MF $(B)/tests/dep/$(@F).d -o $@ $< $(B)/libkvsm.a $(LDLIBS)

$(B)/asan/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SANITIZE) -c $< -o $@

$(B)/asan/libkvsm.a: $(ASAN_LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

# Writes the malformed kernels tests/cli/run-errors.sh feeds to kvsm (not a unit test itself).
$(B)/tests/cli/mkkernel: tests/cli/mkkernel.c $(UNIT_HDRS)
	@mkdir -p $(@D)
	$(CC) $(filter-out -MMD -MP,$(CFLAGS)) -o $@ $<

# Writes a --timeline file without KVM (overflow included) for tests/cli/timeline.sh.
$(B)/tests/cli/mktimeline: tests/cli/mktimeline.c $(B)/libkvsm.a
	@mkdir -p $(@D)
	$(CC) $(filter-out -MMD -MP,$(CFLAGS)) -o $@ $< $(B)/libkvsm.a $(LDLIBS)

# LD_PRELOAD shim that fails one chosen KVM ioctl or rewrites one exit, for tests/cli/ioctl-fault.sh.
$(B)/tests/cli/ioctl_fault.so: tests/cli/ioctl_fault.c
	@mkdir -p $(@D)
	$(CC) $(filter-out -MMD -MP,$(CFLAGS)) -fPIC -shared -o $@ $< -ldl
