/* Per-name rule tables (`quota NAME ...`, `rate NAME ...`): arrays of
 * structs that each start with their `char *name`, one per name, the
 * last line for a name winning. */
#ifndef PROXY_SERVER_NAMED_H
#define PROXY_SERVER_NAMED_H

#include <stddef.h>

/* The index of name's entry in rules (n entries of size bytes), or -1. */
int named_find(const void *rules, int n, size_t size, const char *name);
/* The index of name's entry in *rules, added (zeroed, name copied) at
 * the end when there is none. */
int named_slot(void *rules, int *n, size_t size, const char *name);

#endif
