/* One entry point per CLI command (builtin-*.c). */
#ifndef KVSM_BUILTIN_H
#define KVSM_BUILTIN_H

int cmd_run(int argc, char *argv[]);
int cmd_info(int argc, char *argv[]);
int cmd_bench(int argc, char *argv[]);

#endif
