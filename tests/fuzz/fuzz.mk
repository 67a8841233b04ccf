# libFuzzer targets, built with clang, ASan and UBSan: the hypercall decoder and handlers, register
# get/set, intercept messages, the kernel loaders and x86/insn. `make fuzz` runs each for FUZZ_SECONDS
# from its committed corpus (tests/fuzz/corpus/<target>/, new inputs go to build/fuzz/corpus/<target>/);
# `make check` runs short smoke sessions over the committed corpora.
FUZZ_CC := clang
FUZZ_FLAGS := -g -O1 -std=gnu11 -D_GNU_SOURCE -Isrc -Iinclude -fsanitize=fuzzer,address,undefined \
              -fno-sanitize-recover=undefined
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := hypercall regs intercept loader insn
HV_SRCS := $(wildcard src/hv/*.c)
HV_DEPS := $(HV_SRCS) $(wildcard src/hv/*.h include/kvsm/*.h) tests/unit/fake_host.h
INSN_SRCS := src/x86/insn.c src/x86/insn_back.c
LOADER_SRCS := src/loader/kernel.c src/loader/multiboot.c src/guest_mem.c src/overlay.c src/util.c

$(B)/fuzz/fuzz_hypercall: tests/fuzz/fuzz_hypercall.c $(HV_DEPS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< $(HV_SRCS) -lpthread

$(B)/fuzz/fuzz_regs $(B)/fuzz/fuzz_intercept: $(B)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_vsm.h $(HV_DEPS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< $(HV_SRCS) -lpthread

$(B)/fuzz/fuzz_loader: tests/fuzz/fuzz_loader.c $(LOADER_SRCS) $(wildcard src/loader/*.h) src/guest_mem.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< $(LOADER_SRCS)

$(B)/fuzz/fuzz_insn: tests/fuzz/fuzz_insn.c $(INSN_SRCS) src/x86/insn.h src/x86/insn_internal.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< $(INSN_SRCS) -lZydis

FUZZ_BINS := $(FUZZ_TARGETS:%=$(B)/fuzz/fuzz_%)

fuzz: $(FUZZ_BINS)
	@for t in $(FUZZ_TARGETS); do \
		mkdir -p $(B)/fuzz/corpus/$$t tests/fuzz/corpus/$$t; \
		$(B)/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -max_len=8192 -artifact_prefix=$(B)/fuzz/$$t- \
			$(B)/fuzz/corpus/$$t tests/fuzz/corpus/$$t || exit 1; \
	done
