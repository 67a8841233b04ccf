# libFuzzer targets for the hypercall decoder and handlers and for x86/insn, built with clang,
# ASan and UBSan. `make fuzz` runs each for FUZZ_SECONDS; `make check` runs short smoke sessions.
FUZZ_CC := clang
FUZZ_FLAGS := -g -O1 -std=gnu11 -D_GNU_SOURCE -Isrc -Iinclude -fsanitize=fuzzer,address,undefined \
              -fno-sanitize-recover=undefined
FUZZ_SECONDS ?= 60
HV_SRCS := $(wildcard src/hv/*.c)

$(B)/fuzz/fuzz_hypercall: tests/fuzz/fuzz_hypercall.c $(HV_SRCS) $(wildcard src/hv/*.h include/kvsm/*.h)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ tests/fuzz/fuzz_hypercall.c $(HV_SRCS) -lpthread

INSN_SRCS := src/x86/insn.c src/x86/insn_back.c

$(B)/fuzz/fuzz_insn: tests/fuzz/fuzz_insn.c $(INSN_SRCS) src/x86/insn.h src/x86/insn_internal.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ tests/fuzz/fuzz_insn.c $(INSN_SRCS) -lZydis

fuzz: $(B)/fuzz/fuzz_hypercall $(B)/fuzz/fuzz_insn
	@mkdir -p $(B)/fuzz/corpus $(B)/fuzz/corpus_insn
	$(B)/fuzz/fuzz_hypercall -max_total_time=$(FUZZ_SECONDS) -max_len=8192 -artifact_prefix=$(B)/fuzz/ \
		$(B)/fuzz/corpus
	$(B)/fuzz/fuzz_insn -max_total_time=$(FUZZ_SECONDS) -max_len=512 -artifact_prefix=$(B)/fuzz/ \
		$(B)/fuzz/corpus_insn
