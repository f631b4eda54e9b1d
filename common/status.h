/* Formatting for `status`: human tables and JSON built into a buffer. */
#ifndef COMMON_STATUS_H
#define COMMON_STATUS_H

#include <stdarg.h>
#include <stdint.h>

#include "buf.h"
#include "tunnel.h"

/* Appends to b; text that does not fit its cap is left out whole. */
void status_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void status_vprintf(struct buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* s as a JSON string, quotes included. */
void status_json_str(struct buf *b, const char *s);
/* "12.3 MiB", "3m 12s" */
const char *status_bytes(uint64_t v, char *out, size_t n);
const char *status_age(double secs, char *out, size_t n);
/* The streams of the tunnel (may be NULL) and those kept for a resume
 * (k, may be NULL), biggest traffic first: a table, or a JSON array. */
void status_flows(struct buf *b, struct tunnel *t, struct kept *k, int json);

#endif
