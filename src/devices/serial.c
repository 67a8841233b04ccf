#include "serial.h"

#include <string.h>
#include <unistd.h>

enum { RBR_THR = 0, IER = 1, IIR_FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7 };

#define LCR_DLAB	0x80
#define MCR_LOOP	0x10
#define LSR_DR		0x01
#define LSR_THRE	0x20
#define LSR_TEMT	0x40
#define IER_RDI		0x01
#define IER_THRI	0x02
#define IIR_NO_INT	0x01
#define IIR_THRI	0x02
#define IIR_RDI		0x04
#define IIR_FIFO	0xc0
#define FCR_ENABLE	0x01
/* Modem status with no modem attached: carrier, data set ready, clear to send (as QEMU). */
#define MSR_IDLE	0xb0

static void out_flush(struct serial *s)
{
	size_t done = 0;

	while (done < s->out_len) {
		ssize_t n = write(s->out_fd, s->out + done, s->out_len - done);

		if (n <= 0)
			break;	/* output closed: the guest keeps running, bytes are lost */
		done += (size_t)n;
	}
	s->out_len = 0;
}

static void out_byte(struct serial *s, uint8_t c)
{
	s->out[s->out_len++] = (char)c;
	if (c == '\n' || s->out_len == sizeof(s->out))
		out_flush(s);
}

static uint8_t iir(const struct serial *s)
{
	uint8_t fifo = (s->fcr & FCR_ENABLE) ? IIR_FIFO : 0;

	if ((s->ier & IER_RDI) && (s->lsr & LSR_DR))
		return IIR_RDI | fifo;
	if ((s->ier & IER_THRI) && s->iir_thri)
		return IIR_THRI | fifo;
	return IIR_NO_INT | fifo;
}

static void update_irq(struct serial *s)
{
	bool level = !(iir(s) & IIR_NO_INT);

	if (level != s->irq_level) {
		s->irq_level = level;
		if (s->set_irq)
			s->set_irq(s->irq_ctx, SERIAL_COM1_IRQ, level);
	}
}

void serial_init(struct serial *s, int out_fd, void (*set_irq)(void *, int, bool), void *irq_ctx)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->lsr = LSR_THRE | LSR_TEMT;
	s->msr = MSR_IDLE;
	s->out_fd = out_fd;
	s->set_irq = set_irq;
	s->irq_ctx = irq_ctx;
}

/* Loopback wiring (16550 datasheet): DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD. */
static uint8_t loopback_msr(uint8_t mcr)
{
	return (uint8_t)(((mcr & 0x01) << 5) | ((mcr & 0x02) << 3) | ((mcr & 0x04) << 4) | ((mcr & 0x08) << 4));
}

uint8_t serial_read(struct serial *s, unsigned int reg)
{
	uint8_t v;

	switch (reg) {
	case RBR_THR:
		if (s->lcr & LCR_DLAB)
			return s->dll;
		v = s->rbr;
		s->lsr &= (uint8_t)~LSR_DR;
		update_irq(s);
		return v;
	case IER:
		return (s->lcr & LCR_DLAB) ? s->dlm : s->ier;
	case IIR_FCR:
		v = iir(s);
		if ((v & 0x0f) == IIR_THRI) {	/* reading IIR acknowledges THR-empty */
			s->iir_thri = 0;
			update_irq(s);
		}
		return v;
	case LCR:
		return s->lcr;
	case MCR:
		return s->mcr;
	case LSR:
		return s->lsr;
	case MSR:
		return (s->mcr & MCR_LOOP) ? loopback_msr(s->mcr) : s->msr;
	default:
		return s->scr;
	}
}

void serial_write(struct serial *s, unsigned int reg, uint8_t val)
{
	switch (reg) {
	case RBR_THR:
		if (s->lcr & LCR_DLAB) {
			s->dll = val;
			return;
		}
		if (s->mcr & MCR_LOOP) {
			s->rbr = val;
			s->lsr |= LSR_DR;
		} else {
			out_byte(s, val);
		}
		s->iir_thri = 1;	/* transmission is instant: THR is empty again */
		break;
	case IER:
		if (s->lcr & LCR_DLAB) {
			s->dlm = val;
			return;
		}
		if ((val & IER_THRI) && !(s->ier & IER_THRI))
			s->iir_thri = 1;
		s->ier = val & 0x0f;
		break;
	case IIR_FCR:
		s->fcr = val & 0xc9;	/* enable, DMA mode, trigger level; reset bits self-clear */
		if (val & 0x02) {	/* clear receive FIFO */
			s->lsr &= (uint8_t)~LSR_DR;
		}
		break;
	case LCR:
		s->lcr = val;
		return;
	case MCR:
		s->mcr = val & 0x1f;
		break;
	case SCR:
		s->scr = val;
		return;
	default:		/* LSR and MSR are read-only */
		return;
	}
	update_irq(s);
}

void serial_flush(struct serial *s)
{
	pthread_mutex_lock(&s->lock);
	out_flush(s);
	pthread_mutex_unlock(&s->lock);
}

void serial_io(void *dev, struct vcpu *cpu, uint16_t port, unsigned int size, bool write, uint32_t *val)
{
	struct serial *s = dev;
	unsigned int reg = (unsigned int)(port - SERIAL_COM1_BASE);

	(void)cpu;
	if (size != 1) {	/* the UART has byte registers only */
		if (!write)
			*val = size == 4 ? 0xffffffffu : 0xffffu;
		return;
	}
	pthread_mutex_lock(&s->lock);
	if (write)
		serial_write(s, reg, (uint8_t)*val);
	else
		*val = serial_read(s, reg);
	pthread_mutex_unlock(&s->lock);
}
