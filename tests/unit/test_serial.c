/* 16550A UART: registers, loopback, interrupts and output buffering. */
#include "test.h"
#include "devices/serial.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

enum { THR = 0, RBR = 0, DLL = 0, IER = 1, DLM = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7 };

static struct serial s;
static int pipefd[2];
static unsigned int irq_calls;
static int irq_last = -1;
static bool level_last;

static void set_irq(void *ctx, int irq, bool level)
{
	EXPECT(ctx == &s);
	irq_calls++;
	irq_last = irq;
	level_last = level;
}

/* Fresh UART writing into a fresh non-blocking pipe. */
static void setup(void)
{
	if (pipefd[0]) {
		close(pipefd[0]);
		close(pipefd[1]);
	}
	if (pipe2(pipefd, O_NONBLOCK)) {
		perror("pipe2");
		_exit(1);
	}
	irq_calls = 0;
	irq_last = -1;
	level_last = false;
	serial_init(&s, pipefd[1], set_irq, &s);
}

/* Everything written to the pipe so far, NUL-terminated. */
static const char *drain(void)
{
	static char buf[1024];
	ssize_t n = read(pipefd[0], buf, sizeof(buf) - 1);

	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static void put(const char *str)
{
	for (; *str; str++)
		serial_write(&s, THR, (uint8_t)*str);
}

static void reset_state(void)
{
	setup();
	EXPECT_EQ(serial_read(&s, LSR), 0x60);
	EXPECT_EQ(serial_read(&s, IIR), 0x01);
	EXPECT_EQ(serial_read(&s, MSR), 0xb0);
	EXPECT_EQ(serial_read(&s, IER), 0x00);
	EXPECT_EQ(serial_read(&s, LCR), 0x00);
	EXPECT_EQ(serial_read(&s, MCR), 0x00);
	EXPECT_EQ(serial_read(&s, SCR), 0x00);
	EXPECT_EQ(serial_read(&s, RBR), 0x00);
	EXPECT_EQ(irq_calls, 0);
}

static void scratch_register(void)
{
	setup();
	serial_write(&s, SCR, 0xa5);
	EXPECT_EQ(serial_read(&s, SCR), 0xa5);
	serial_write(&s, SCR, 0x5a);
	EXPECT_EQ(serial_read(&s, SCR), 0x5a);
	/* LSR and MSR are read-only. */
	serial_write(&s, LSR, 0x00);
	serial_write(&s, MSR, 0x00);
	EXPECT_EQ(serial_read(&s, LSR), 0x60);
	EXPECT_EQ(serial_read(&s, MSR), 0xb0);
}

static void divisor_latch(void)
{
	setup();
	serial_write(&s, IER, 0x00);
	serial_write(&s, LCR, 0x80);		/* DLAB */
	EXPECT_EQ(serial_read(&s, LCR), 0x80);
	serial_write(&s, DLL, 0x0c);		/* 9600 baud */
	serial_write(&s, DLM, 0x01);
	EXPECT_EQ(serial_read(&s, DLL), 0x0c);
	EXPECT_EQ(serial_read(&s, DLM), 0x01);
	serial_write(&s, LCR, 0x03);		/* 8N1, DLAB off */
	EXPECT_EQ(serial_read(&s, IER), 0x00);	/* IER was not touched by the DLM write */
	EXPECT_EQ(serial_read(&s, LSR), 0x60);	/* nor was anything transmitted */
	EXPECT_EQ(serial_read(&s, RBR), 0x00);
	EXPECT_STR_EQ(drain(), "");
	serial_write(&s, LCR, 0x83);
	EXPECT_EQ(serial_read(&s, DLL), 0x0c);	/* latched values persist */
	EXPECT_EQ(serial_read(&s, DLM), 0x01);
	EXPECT_EQ(irq_calls, 0);
}

static void loopback_data(void)
{
	setup();
	serial_write(&s, MCR, 0x10);
	EXPECT_EQ(serial_read(&s, MCR), 0x10);
	serial_write(&s, THR, 0xae);
	EXPECT_EQ(serial_read(&s, LSR), 0x61);	/* data ready, THR empty */
	EXPECT_EQ(serial_read(&s, RBR), 0xae);
	EXPECT_EQ(serial_read(&s, LSR), 0x60);
	serial_write(&s, THR, 'x');
	serial_write(&s, FCR, 0x03);		/* FIFO enable + clear receive FIFO */
	EXPECT_EQ(serial_read(&s, LSR), 0x60);
	serial_write(&s, MCR, 0x00);
	serial_flush(&s);
	EXPECT_STR_EQ(drain(), "");		/* looped-back bytes never reach the output */
	EXPECT_EQ(irq_calls, 0);		/* interrupts were not enabled */
}

static void loopback_modem_status(void)
{
	setup();
	serial_write(&s, MCR, 0x10);
	EXPECT_EQ(serial_read(&s, MSR), 0x00);
	serial_write(&s, MCR, 0x11);		/* DTR -> DSR */
	EXPECT_EQ(serial_read(&s, MSR), 0x20);
	serial_write(&s, MCR, 0x12);		/* RTS -> CTS */
	EXPECT_EQ(serial_read(&s, MSR), 0x10);
	serial_write(&s, MCR, 0x14);		/* OUT1 -> RI */
	EXPECT_EQ(serial_read(&s, MSR), 0x40);
	serial_write(&s, MCR, 0x18);		/* OUT2 -> DCD */
	EXPECT_EQ(serial_read(&s, MSR), 0x80);
	serial_write(&s, MCR, 0x1f);
	EXPECT_EQ(serial_read(&s, MSR), 0xf0);
	serial_write(&s, MCR, 0xff);		/* bits 5-7 do not exist */
	EXPECT_EQ(serial_read(&s, MCR), 0x1f);
	serial_write(&s, MCR, 0x0f);		/* loopback off: the idle modem status again */
	EXPECT_EQ(serial_read(&s, MSR), 0xb0);
}

static void thr_empty_interrupt(void)
{
	setup();
	serial_write(&s, IER, 0x02);
	EXPECT_EQ(irq_calls, 1);
	EXPECT_EQ(irq_last, 4);
	EXPECT(level_last);
	EXPECT_EQ(serial_read(&s, IER), 0x02);
	EXPECT_EQ(serial_read(&s, IIR), 0x02);	/* reading IIR acknowledges it */
	EXPECT_EQ(irq_calls, 2);
	EXPECT(!level_last);
	EXPECT_EQ(serial_read(&s, IIR), 0x01);
	EXPECT_EQ(irq_calls, 2);

	serial_write(&s, THR, 'a');		/* THR empties again at once */
	EXPECT_EQ(irq_calls, 3);
	EXPECT(level_last);
	serial_write(&s, IER, 0x00);		/* masking drops the line */
	EXPECT_EQ(irq_calls, 4);
	EXPECT(!level_last);
	EXPECT_EQ(serial_read(&s, IIR), 0x01);
	serial_write(&s, IER, 0x02);		/* re-enabling raises it again */
	EXPECT_EQ(irq_calls, 5);
	EXPECT(level_last);
	serial_write(&s, IER, 0x0f);		/* still enabled: no new edge */
	EXPECT_EQ(irq_calls, 5);
	serial_write(&s, IER, 0xff);
	EXPECT_EQ(serial_read(&s, IER), 0x0f);
}

static void received_data_interrupt(void)
{
	setup();
	serial_write(&s, MCR, 0x10);
	serial_write(&s, IER, 0x01);
	EXPECT_EQ(irq_calls, 0);
	serial_write(&s, THR, 'z');
	EXPECT_EQ(irq_calls, 1);
	EXPECT_EQ(irq_last, 4);
	EXPECT(level_last);
	EXPECT_EQ(serial_read(&s, IIR), 0x04);
	EXPECT_EQ(serial_read(&s, IIR), 0x04);	/* only reading RBR clears it */
	EXPECT_EQ(irq_calls, 1);
	EXPECT_EQ(serial_read(&s, RBR), 'z');
	EXPECT_EQ(irq_calls, 2);
	EXPECT(!level_last);
	EXPECT_EQ(serial_read(&s, IIR), 0x01);

	/* Both pending: received data first, THR-empty once the data is read. */
	serial_write(&s, IER, 0x03);
	serial_write(&s, THR, 'y');
	EXPECT_EQ(serial_read(&s, IIR), 0x04);
	EXPECT_EQ(serial_read(&s, RBR), 'y');
	EXPECT(level_last);
	EXPECT_EQ(serial_read(&s, IIR), 0x02);
	EXPECT(!level_last);
	EXPECT_EQ(serial_read(&s, IIR), 0x01);
}

static void fifo_bits_in_iir(void)
{
	setup();
	serial_write(&s, FCR, 0x01);
	EXPECT_EQ(serial_read(&s, IIR), 0xc1);
	serial_write(&s, IER, 0x02);
	EXPECT_EQ(serial_read(&s, IIR), 0xc2);
	EXPECT_EQ(serial_read(&s, IIR), 0xc1);
	serial_write(&s, FCR, 0xc7);		/* trigger level, reset bits */
	EXPECT_EQ(serial_read(&s, IIR), 0xc1);
	serial_write(&s, MCR, 0x10);
	serial_write(&s, IER, 0x01);
	serial_write(&s, THR, 'r');
	EXPECT_EQ(serial_read(&s, IIR), 0xc4);
	EXPECT_EQ(serial_read(&s, RBR), 'r');
	EXPECT_EQ(serial_read(&s, IIR), 0xc1);
	serial_write(&s, FCR, 0x00);
	EXPECT_EQ(serial_read(&s, IIR), 0x01);
}

static void output_buffering(void)
{
	static char big[300];

	setup();
	put("hello");
	EXPECT_STR_EQ(drain(), "");		/* held until a newline */
	put(" world\nmore");
	EXPECT_STR_EQ(drain(), "hello world\n");
	serial_flush(&s);
	EXPECT_STR_EQ(drain(), "more");
	serial_flush(&s);
	EXPECT_STR_EQ(drain(), "");
	EXPECT_EQ(serial_read(&s, LSR), 0x60);

	/* A full 256-byte buffer is written out without a newline. */
	memset(big, 'q', 257);
	big[257] = '\0';
	put(big);
	EXPECT_EQ(strlen(drain()), 256);
	serial_flush(&s);
	EXPECT_STR_EQ(drain(), "q");
}

static void output_to_closed_pipe(void)
{
	setup();
	close(pipefd[0]);
	pipefd[0] = open("/dev/null", O_RDONLY);	/* keep setup()'s close() balanced */
	signal(SIGPIPE, SIG_IGN);
	put("lost\n");				/* EPIPE: dropped, no hang or crash */
	put("also lost");
	serial_flush(&s);
	EXPECT_EQ(serial_read(&s, LSR), 0x60);
	EXPECT_EQ(s.out_len, 0);
}

static void port_access_widths(void)
{
	uint32_t v;

	setup();
	v = 'A';
	serial_io(&s, NULL, SERIAL_COM1_BASE + THR, 1, true, &v);
	v = '\n';
	serial_io(&s, NULL, SERIAL_COM1_BASE + THR, 1, true, &v);
	EXPECT_STR_EQ(drain(), "A\n");
	v = 0;
	serial_io(&s, NULL, SERIAL_COM1_BASE + LSR, 1, false, &v);
	EXPECT_EQ(v, 0x60);
	v = 0;
	serial_io(&s, NULL, SERIAL_COM1_BASE + LSR, 2, false, &v);
	EXPECT_EQ(v, 0xffff);
	v = 0;
	serial_io(&s, NULL, SERIAL_COM1_BASE + LSR, 4, false, &v);
	EXPECT_EQ(v, 0xffffffff);
	v = 'B';
	serial_io(&s, NULL, SERIAL_COM1_BASE + THR, 2, true, &v);	/* ignored */
	v = 0x77;
	serial_io(&s, NULL, SERIAL_COM1_BASE + SCR, 4, true, &v);	/* ignored */
	v = 0;
	serial_io(&s, NULL, SERIAL_COM1_BASE + SCR, 1, false, &v);
	EXPECT_EQ(v, 0);
	serial_flush(&s);
	EXPECT_STR_EQ(drain(), "");
}

int main(void)
{
	RUN_TEST(reset_state);
	RUN_TEST(scratch_register);
	RUN_TEST(divisor_latch);
	RUN_TEST(loopback_data);
	RUN_TEST(loopback_modem_status);
	RUN_TEST(thr_empty_interrupt);
	RUN_TEST(received_data_interrupt);
	RUN_TEST(fifo_bits_in_iir);
	RUN_TEST(output_buffering);
	RUN_TEST(output_to_closed_pipe);
	RUN_TEST(port_access_widths);
	return TEST_EXIT();
}
