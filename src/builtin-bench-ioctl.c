/*
 * `kvsm bench`'s ioctl profile: the kvsm binary is linked with
 * --wrap=ioctl, so every ioctl of kvsm's code comes here. Off (the normal
 * case), this is one load and a tail call; on, the calling thread's ioctls
 * are counted and timed by request, so a round trip can be broken down.
 */
#include "builtin-bench.h"
#include "util.h"

#include <linux/kvm.h>
#include <stdarg.h>

int __real_ioctl(int fd, unsigned long req, ...);
int __wrap_ioctl(int fd, unsigned long req, ...);

static __thread struct bench_ioctl_prof *prof;	/* per thread: only the VP thread that started it counts */

int __wrap_ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	void *arg;
	uint64_t t0;
	int r;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (!prof)
		return __real_ioctl(fd, req, arg);
	t0 = monotonic_ns();
	r = __real_ioctl(fd, req, arg);
	t0 = monotonic_ns() - t0;
	for (unsigned int i = 0; i < BENCH_IOCTL_CLASSES; i++) {
		struct bench_ioctl_class *c = &prof->c[i];

		if (i == prof->nr) {
			c->req = req;
			prof->nr++;
		}
		if (c->req == req) {
			c->n++;
			c->ns += t0;
			break;
		}
	}
	return r;
}

void bench_ioctl_start(struct bench_ioctl_prof *p)
{
	prof = p;
}

void bench_ioctl_stop(void)
{
	prof = NULL;
}

const char *bench_ioctl_name(unsigned long req)
{
	static const struct {
		unsigned long req;
		const char *name;
	} names[] = {
		{ KVM_RUN, "KVM_RUN" }, { KVM_GET_XSAVE, "KVM_GET_XSAVE" }, { KVM_SET_XSAVE, "KVM_SET_XSAVE" },
		{ KVM_GET_DEBUGREGS, "KVM_GET_DEBUGREGS" }, { KVM_SET_DEBUGREGS, "KVM_SET_DEBUGREGS" },
		{ KVM_GET_XCRS, "KVM_GET_XCRS" }, { KVM_SET_XCRS, "KVM_SET_XCRS" },
		{ KVM_GET_MSRS, "KVM_GET_MSRS" }, { KVM_SET_MSRS, "KVM_SET_MSRS" },
		{ KVM_GET_LAPIC, "KVM_GET_LAPIC" }, { KVM_SET_LAPIC, "KVM_SET_LAPIC" },
		{ KVM_GET_REGS, "KVM_GET_REGS" }, { KVM_SET_REGS, "KVM_SET_REGS" },
		{ KVM_GET_SREGS, "KVM_GET_SREGS" }, { KVM_SET_SREGS, "KVM_SET_SREGS" },
		{ KVM_GET_VCPU_EVENTS, "KVM_GET_VCPU_EVENTS" }, { KVM_SET_VCPU_EVENTS, "KVM_SET_VCPU_EVENTS" },
		{ KVM_INTERRUPT, "KVM_INTERRUPT" }, { KVM_GET_MP_STATE, "KVM_GET_MP_STATE" },
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(names); i++)
		if (names[i].req == req)
			return names[i].name;
	return "other";
}
