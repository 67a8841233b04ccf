/*
 * libFuzzer target for x86/insn: arbitrary guest state, instruction bytes,
 * guest memory, page mapping and write exit go through insn_decode and
 * insn_reconstruct_write. Built with ASan and UBSan by `make fuzz`; any
 * crash or out-of-bounds access is a bug.
 */
#include "x86/insn.h"

#include <string.h>

#define MEM_SIZE 64

struct fuzz_header {
	uint64_t gpr[16], rip, rflags, seg_base[6];
	uint64_t gpa, xlate_xor, data;
	uint8_t mode, stack_size, size, unmapped;	/* unmapped: a page the translation refuses */
	uint8_t pad[4];
};

static uint8_t mem_bytes[MEM_SIZE];
static uint64_t mem_base, xlate_xor, unmapped_page;

/* Guest memory is MEM_SIZE bytes around RIP; the mapping flips address bits. */
static bool translate(void *opaque, uint64_t la, uint64_t *gpa)
{
	if ((la >> 12) == unmapped_page)
		return false;
	*gpa = la ^ (xlate_xor & ~0xfffull);
	return true;
}

static size_t read_mem(void *opaque, uint64_t la, uint8_t *buf, size_t n)
{
	size_t i;

	for (i = 0; i < n && la + i - mem_base < MEM_SIZE; i++)
		buf[i] = mem_bytes[la + i - mem_base];
	return i;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned int modes[] = { 16, 32, 64 };
	const struct insn_mem mem = { translate, read_mem, NULL };
	struct fuzz_header h = { 0 };
	struct insn_cpu cpu = { 0 };
	struct insn_decoded d;
	struct insn_back out;
	size_t n = size < sizeof(h) ? size : sizeof(h);

	memcpy(&h, data, n);
	memset(mem_bytes, 0, sizeof(mem_bytes));
	if (size > sizeof(h))
		memcpy(mem_bytes, data + sizeof(h), size - sizeof(h) < MEM_SIZE ? size - sizeof(h) : MEM_SIZE);
	memcpy(cpu.gpr, h.gpr, sizeof(cpu.gpr));
	memcpy(cpu.seg_base, h.seg_base, sizeof(cpu.seg_base));
	cpu.rip = h.rip;
	cpu.rflags = h.rflags;
	cpu.mode = modes[h.mode % 3];
	cpu.stack_size = modes[h.stack_size % 3];
	xlate_xor = h.xlate_xor;
	unmapped_page = (h.rip >> 12) + (h.unmapped & 3) - 1;
	/* The second half of the buffer is at RIP's linear address (CS.base + IP outside 64-bit mode). */
	mem_base = cpu.rip & (cpu.mode == 64 ? ~0ull : cpu.mode == 32 ? 0xffffffff : 0xffff);
	if (cpu.mode != 64)
		mem_base = (cpu.seg_base[INSN_CS] + mem_base) & 0xffffffff;
	mem_base -= MEM_SIZE / 2;

	insn_decode(&cpu, mem_bytes + MEM_SIZE / 2, h.unmapped % INSN_MAX_LEN + 1, &d);
	insn_reconstruct_write(&cpu, h.gpa, h.size % 17, (const uint8_t *)&h.data, &mem, &out);
	return 0;
}
