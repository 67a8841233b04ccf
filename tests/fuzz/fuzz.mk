# libFuzzer target for the hypercall decoder and handlers, built with clang, ASan and UBSan.
# `make fuzz` runs it for FUZZ_SECONDS; `make check` runs a short smoke session.
FUZZ_CC := clang
FUZZ_FLAGS := -g -O1 -std=gnu11 -D_GNU_SOURCE -Isrc -Iinclude -fsanitize=fuzzer,address,undefined \
              -fno-sanitize-recover=undefined
FUZZ_SECONDS ?= 60
HV_SRCS := $(wildcard src/hv/*.c)

$(B)/fuzz/fuzz_hypercall: tests/fuzz/fuzz_hypercall.c $(HV_SRCS) $(wildcard src/hv/*.h include/kvsm/*.h)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ tests/fuzz/fuzz_hypercall.c $(HV_SRCS) -lpthread

fuzz: $(B)/fuzz/fuzz_hypercall
	@mkdir -p $(B)/fuzz/corpus
	$(B)/fuzz/fuzz_hypercall -max_total_time=$(FUZZ_SECONDS) -max_len=8192 -artifact_prefix=$(B)/fuzz/ \
		$(B)/fuzz/corpus
