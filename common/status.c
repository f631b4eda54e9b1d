#include "status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

void status_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list again;
	int n;
	uint8_t *p;

	va_copy(again, ap);
	n = vsnprintf(NULL, 0, fmt, ap);
	if (n >= 0 && (p = buf_reserve(b, (size_t)n + 1))) {
		vsnprintf((char *)p, (size_t)n + 1, fmt, again);
		buf_commit(b, (size_t)n);
	}
	va_end(again);
}

void status_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	status_vprintf(b, fmt, ap);
	va_end(ap);
}

void status_json_str(struct buf *b, const char *s)
{
	buf_put_u8(b, '"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			status_printf(b, "\\%c", ch);
		else if (ch < 0x20 || ch >= 0x7f)
			status_printf(b, "\\u%04x", ch);
		else
			buf_put_u8(b, ch);
	}
	buf_put_u8(b, '"');
}

const char *status_bytes(uint64_t v, char *out, size_t n)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double d = (double)v;
	int u = 0;

	while (d >= 1024 && u < 4) {
		d /= 1024;
		u++;
	}
	snprintf(out, n, u ? "%.1f %s" : "%.0f %s", d, unit[u]);
	return out;
}

const char *status_age(double s, char *out, size_t n)
{
	unsigned long t = s > 0 ? (unsigned long)s : 0;

	if (t < 60)
		snprintf(out, n, "%lus", t);
	else if (t < 3600)
		snprintf(out, n, "%lum %lus", t / 60, t % 60);
	else if (t < 86400)
		snprintf(out, n, "%luh %lum", t / 3600, t / 60 % 60);
	else
		snprintf(out, n, "%lud %luh", t / 86400, t / 3600 % 24);
	return out;
}

struct row {
	struct stream_info i;
};

struct rows {
	struct row *v;
	size_t n, cap;
};

static void collect(const struct stream_info *i, void *arg)
{
	struct rows *r = arg;

	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 64;
		r->v = xrealloc(r->v, r->cap * sizeof(*r->v));
	}
	r->v[r->n++].i = *i;
}

static int by_traffic(const void *a, const void *b)
{
	const struct stream_info *x = &((const struct row *)a)->i;
	const struct stream_info *y = &((const struct row *)b)->i;
	uint64_t tx = x->up + x->down, ty = y->up + y->down;

	return tx < ty ? 1 : tx > ty ? -1 : 0;
}

void status_flows(struct buf *b, struct tunnel *t, struct kept *kept, int json)
{
	struct rows r = { 0 };
	ev_tstamp now = ev_time();
	char src[ADDR_STR_MAX], dst[ADDR_STR_MAX], age[32], up[32], down[32];

	if (t)
		tunnel_each_stream(t, collect, &r);
	if (kept)
		kept_each(kept, collect, &r);
	if (!json && !r.n && !t)
		return; /* no tunnel, nothing kept: no table */
	if (r.n)
		qsort(r.v, r.n, sizeof(*r.v), by_traffic);
	if (!json)
		status_printf(b, "%-4s %-40s %-40s %8s %10s %10s %s\n", "KIND",
			      "SOURCE", "DESTINATION", "AGE", "UP", "DOWN",
			      "STATE");
	else
		buf_put_u8(b, '[');
	for (size_t k = 0; k < r.n; k++) {
		const struct stream_info *i = &r.v[k].i;

		if (i->src.type)
			addr_str(&i->src, src, sizeof(src));
		else
			strcpy(src, "-");
		if (i->dst.type)
			addr_str(&i->dst, dst, sizeof(dst));
		else
			strcpy(dst, i->kind[0] == 'U' ? "(any)" : "-");
		if (!json) {
			status_printf(b, "%-4s %-40s %-40s %8s %10s %10s %s\n",
				      i->kind, src, dst,
				      status_age(now - i->start, age,
						 sizeof(age)),
				      status_bytes(i->up, up, sizeof(up)),
				      status_bytes(i->down, down, sizeof(down)),
				      i->state);
			continue;
		}
		status_printf(b, "%s{\"kind\":\"%s\",\"source\":", k ? "," : "",
			      i->kind);
		status_json_str(b, src);
		status_printf(b, ",\"destination\":");
		status_json_str(b, dst);
		status_printf(b,
			      ",\"age\":%.1f,\"bytes_up\":%llu,"
			      "\"bytes_down\":%llu,\"state\":\"%s\"",
			      now - i->start, (unsigned long long)i->up,
			      (unsigned long long)i->down, i->state);
		if (i->window)
			status_printf(b, ",\"window\":%lu",
				      (unsigned long)i->window);
		buf_put_u8(b, '}');
	}
	if (json)
		buf_put_u8(b, ']');
	free(r.v);
}
