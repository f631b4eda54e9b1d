/* Stream id -> pointer map: open addressing, grows with the number of
 * streams (no fixed table), removal by backward shift. */
#ifndef COMMON_IDMAP_H
#define COMMON_IDMAP_H

#include <stddef.h>
#include <stdint.h>

struct idmap {
	struct idmap_slot {
		uint32_t id; /* 0 = empty */
		void *val;
	} * slots;
	size_t mask; /* slots - 1 (power of two), or 0 when unallocated */
	size_t count;
};

void *idmap_get(const struct idmap *m, uint32_t id);
/* id must be non-zero and not present. */
void idmap_put(struct idmap *m, uint32_t id, void *val);
void idmap_del(struct idmap *m, uint32_t id);
void idmap_free(struct idmap *m);
static inline size_t idmap_count(const struct idmap *m)
{
	return m->count;
}

/* Calls fn for every value; fn may not change the map. */
void idmap_each(const struct idmap *m, void (*fn)(void *val, void *arg),
		void *arg);

/* Removes every entry for which drop(val, arg) returns non-zero (drop
 * may free val). */
void idmap_sweep(struct idmap *m, int (*drop)(void *val, void *arg), void *arg);

#endif
