/* Running a function at CPL 3 from a guest test (one VP). */
#ifndef GUEST_USER_H
#define GUEST_USER_H

#include "guest.h"

#define USER_CS 0x23
#define USER_DS 0x2b

/*
 * Run fn at CPL 3 (IOPL 0), on its own stack, and come back when it returns. #GP at CPL 3 other than fn's return path goes to
 * user_gp_hook if set (it may adjust the frame), else fails the test.
 */
void user_run(void (*fn)(void));
/* GDT, TSS and user-accessible page tables (user_run calls it too). */
void user_setup(void);
/* Let CPL 3 use port (0-255) through the TSS I/O permission bitmap, or not (the default). */
void user_allow_port(uint8_t port, bool allow);
extern void (*user_gp_hook)(struct irq_frame *f);

#endif
