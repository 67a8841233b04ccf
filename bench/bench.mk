# The bench guest, built like the guest tests and linked into build/kvsm as a blob.
BENCH_GUEST_SRCS := bench/bench_guest.c bench/bench_loops.S

$(B)/bench/bench_guest.c.o: bench/bench_spans.h

$(B)/bench/%.o: bench/% tests/guest/lib/guest.h
	@mkdir -p $(@D)
	$(CC) $(GUEST_CFLAGS) -c $< -o $@

$(B)/bench/bench_guest.elf: $(BENCH_GUEST_SRCS:bench/%=$(B)/bench/%.o) $(GUEST_LIB_OBJS) tests/guest/lib/guest.ld
	$(CC) $(GUEST_LDFLAGS) -o $@ $(BENCH_GUEST_SRCS:bench/%=$(B)/bench/%.o) $(GUEST_LIB_OBJS)

# ld names the symbols after the file: _binary_bench_guest_elf_start/_end.
$(B)/bench/bench_guest_blob.o: $(B)/bench/bench_guest.elf
	cd $(B)/bench && ld -r -b binary -z noexecstack -o bench_guest_blob.o bench_guest.elf
