# Guest test images, built with the host gcc as freestanding x86-64 ELF64 (kvsm boot protocol)
# and, for the multiboot tests, 32-bit assembly kernels.
GUEST_CFLAGS := -O2 -g -std=gnu11 -ffreestanding -fno-pic -fno-pie -fno-stack-protector -mno-red-zone \
                -mgeneral-regs-only -fno-builtin -fno-asynchronous-unwind-tables -Wall -Wextra -Werror \
                -Wno-unused-parameter -mcmodel=small
GUEST_LDFLAGS := -nostdlib -static -no-pie -Wl,-T,tests/guest/lib/guest.ld -Wl,-z,max-page-size=4096 \
                 -Wl,--build-id=none -Wl,--no-warn-rwx-segments
GUEST_LIB_SRCS := $(wildcard tests/guest/lib/*.c tests/guest/lib/*.S)
GUEST_LIB_OBJS := $(patsubst tests/guest/lib/%,$(B)/guests/lib/%.o,$(GUEST_LIB_SRCS))
GUEST_TESTS := $(patsubst tests/guest/%.c,%,$(wildcard tests/guest/*.c))
GUEST_ELFS := $(GUEST_TESTS:%=$(B)/guests/%.elf)
MB32_ELFS := $(patsubst tests/guest/mb32/%.S,$(B)/guests/mb32-%.elf,$(wildcard tests/guest/mb32/*.S))

guests: $(GUEST_ELFS) $(MB32_ELFS)

$(B)/guests/lib/%.o: tests/guest/lib/% tests/guest/lib/guest.h tests/guest/lib/hyperv.h
	@mkdir -p $(@D)
	$(CC) $(GUEST_CFLAGS) -c $< -o $@

$(B)/guests/%.o: tests/guest/%.c tests/guest/lib/guest.h tests/guest/lib/hyperv.h
	@mkdir -p $(@D)
	$(CC) $(GUEST_CFLAGS) -c $< -o $@

$(B)/guests/%.elf: $(B)/guests/%.o $(GUEST_LIB_OBJS) tests/guest/lib/guest.ld
	$(CC) $(GUEST_LDFLAGS) -o $@ $< $(GUEST_LIB_OBJS)

# Multiboot v1 kernels "built elsewhere": plain 32-bit assembly, linked at 1 MiB.
$(B)/guests/mb32-%.elf: tests/guest/mb32/%.S
	@mkdir -p $(@D)
	$(CC) -m32 -nostdlib -static -no-pie -Wl,-Ttext=0x100000 -Wl,-N -Wl,--build-id=none \
		-Wl,--no-warn-rwx-segments -o $@ $<

# kvsm built with ThreadSanitizer: tests/guest/run-guests.sh boots a few SMP/VTL guests with it.
TSAN_OBJS := $(LIB_SRCS:%.c=$(B)/tsan/%.o) $(CLI_SRCS:%.c=$(B)/tsan/%.o)

$(B)/tsan/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(filter-out -O2,$(CFLAGS)) -O1 -fsanitize=thread -c $< -o $@

$(B)/tsan/kvsm: $(TSAN_OBJS) $(B)/bench/bench_guest_blob.o
	$(CC) -fsanitize=thread -Wl,--wrap=ioctl -o $@ $^ $(LDLIBS)

# The cross-VP request unit test under ThreadSanitizer too (real threads, no KVM needed).
$(B)/tests/unit/test_vcpu_request_tsan: tests/unit/test_vcpu_request.c $(UNIT_HDRS) \
		$(filter-out $(B)/tsan/src/main.o $(B)/tsan/src/builtin-%.o,$(TSAN_OBJS))
	@mkdir -p $(@D)
	$(CC) $(filter-out -O2 -MMD -MP,$(CFLAGS)) -O1 -fsanitize=thread -o $@ $< \
		$(filter-out $(B)/tsan/src/main.o $(B)/tsan/src/builtin-%.o,$(TSAN_OBJS)) $(LDLIBS)
unit: $(B)/tests/unit/test_vcpu_request_tsan
