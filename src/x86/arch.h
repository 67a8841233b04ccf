/* x86 architectural constants kvsm uses (Intel SDM vol. 1 and 3), in one place. */
#ifndef KVSM_X86_ARCH_H
#define KVSM_X86_ARCH_H

/* RFLAGS (SDM vol. 1, 3.4.3) */
#define RFLAGS_FIXED1		(1ull << 1)
#define RFLAGS_IF		(1ull << 9)
#define RFLAGS_DF		(1ull << 10)
#define RFLAGS_VM		(1ull << 17)
#define RFLAGS_AC		(1ull << 18)
/* Reserved: 3, 5, 15, 63:22. */
#define RFLAGS_RSVD		((1ull << 3) | (1ull << 5) | (1ull << 15) | (~0ull << 22))

/* CR0 (SDM vol. 3, 2.5) */
#define CR0_PE			(1ull << 0)
#define CR0_MP			(1ull << 1)
#define CR0_ET			(1ull << 4)
#define CR0_NE			(1ull << 5)
#define CR0_WP			(1ull << 16)
#define CR0_AM			(1ull << 18)
#define CR0_NW			(1ull << 29)
#define CR0_CD			(1ull << 30)
#define CR0_PG			(1ull << 31)

/* CR4 */
#define CR4_PSE			(1ull << 4)
#define CR4_PAE			(1ull << 5)
#define CR4_PGE			(1ull << 7)
#define CR4_OSFXSR		(1ull << 9)
#define CR4_OSXMMEXCPT		(1ull << 10)
#define CR4_LA57		(1ull << 12)
#define CR4_PCIDE		(1ull << 17)
#define CR4_SMEP		(1ull << 20)
#define CR4_SMAP		(1ull << 21)
#define CR4_CET			(1ull << 23)

/* IA32_EFER */
#define EFER_SCE		(1ull << 0)
#define EFER_LME		(1ull << 8)
#define EFER_LMA		(1ull << 10)
#define EFER_NXE		(1ull << 11)

/* MSRs */
#define MSR_IA32_TSC		0x10
#define MSR_IA32_APIC_BASE	0x1b
#define MSR_IA32_MISC_ENABLE	0x1a0
#define MSR_EFER		0xc0000080
#define MSR_IA32_TSC_ADJUST	0x3b
#define MSR_IA32_TSC_DEADLINE	0x6e0
#define APIC_BASE_EXTD		(1ull << 10)
#define APIC_BASE_EN		(1ull << 11)

/* Segment descriptor type bits (S = 1) */
#define SEG_TYPE_CODE		(1u << 3)
#define SEG_TYPE_WRITABLE_DATA	(1u << 1)

/* XSAVE features (XCR0 bits, SDM vol. 1, 13.1) */
#define XFEATURE_FP		(1ull << 0)
#define XFEATURE_SSE		(1ull << 1)
#define XFEATURE_YMM		(1ull << 2)
#define XFEATURE_BNDREGS	(1ull << 3)
#define XFEATURE_BNDCSR		(1ull << 4)
#define XFEATURE_AVX512		(7ull << 5)
#define XFEATURE_XTILE		(3ull << 17)

/* The XSAVE area: legacy (FXSAVE) region, then the header (SDM vol. 1, 13.4). */
#define FX_FCW			0
#define FX_FSW			2
#define FX_FTW			4
#define FX_RSVD			5
#define FX_FOP			6
#define FX_FIP			8
#define FX_FDP			16
#define FX_MXCSR		24
#define FX_MXCSR_MASK		28
#define FX_ST0			32
#define FX_XMM0			160
#define XSAVE_XSTATE_BV		512

#endif
