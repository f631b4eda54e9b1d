#include "idmap.h"

#include <stdlib.h>

#include "util.h"

static size_t slot_of(uint32_t id, size_t mask)
{
	/* Ids are mostly sequential: spread them with a multiplicative hash. */
	return (size_t)((id * 2654435761u) & mask);
}

void *idmap_get(const struct idmap *m, uint32_t id)
{
	size_t i;

	if (!m->slots || !id)
		return NULL;
	for (i = slot_of(id, m->mask); m->slots[i].id; i = (i + 1) & m->mask)
		if (m->slots[i].id == id)
			return m->slots[i].val;
	return NULL;
}

static void insert(struct idmap_slot *slots, size_t mask, uint32_t id,
		   void *val)
{
	size_t i = slot_of(id, mask);

	while (slots[i].id)
		i = (i + 1) & mask;
	slots[i].id = id;
	slots[i].val = val;
}

static void grow(struct idmap *m)
{
	size_t n = m->slots ? (m->mask + 1) * 2 : 16;
	struct idmap_slot *s = xcalloc(n, sizeof(*s));

	for (size_t i = 0; m->slots && i <= m->mask; i++)
		if (m->slots[i].id)
			insert(s, n - 1, m->slots[i].id, m->slots[i].val);
	free(m->slots);
	m->slots = s;
	m->mask = n - 1;
}

void idmap_put(struct idmap *m, uint32_t id, void *val)
{
	if (!m->slots || (m->count + 1) * 2 > m->mask + 1)
		grow(m);
	insert(m->slots, m->mask, id, val);
	m->count++;
}

void idmap_del(struct idmap *m, uint32_t id)
{
	size_t i, j, k;

	if (!m->slots || !id)
		return;
	for (i = slot_of(id, m->mask); m->slots[i].id != id;
	     i = (i + 1) & m->mask)
		if (!m->slots[i].id)
			return;
	m->count--;
	/* Backward shift: move later members of the probe run into the hole
	 * when their home slot does not lie between the hole and them. */
	for (j = i;;) {
		m->slots[i].id = 0;
		for (;;) {
			j = (j + 1) & m->mask;
			if (!m->slots[j].id)
				return;
			k = slot_of(m->slots[j].id, m->mask);
			if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
				continue;
			break;
		}
		m->slots[i] = m->slots[j];
		i = j;
	}
}

void idmap_sweep(struct idmap *m, int (*drop)(void *val, void *arg), void *arg)
{
	for (size_t i = 0; m->slots && i <= m->mask; i++) {
		uint32_t id = m->slots[i].id;

		if (id && drop(m->slots[i].val, arg)) {
			idmap_del(m, id);
			/* the backward shift may have moved another entry
			 * into this slot: look at it again */
			i--;
		}
	}
}

void idmap_free(struct idmap *m)
{
	free(m->slots);
	m->slots = NULL;
	m->mask = m->count = 0;
}

void idmap_each(const struct idmap *m, void (*fn)(void *val, void *arg),
		void *arg)
{
	for (size_t i = 0; m->slots && i <= m->mask; i++)
		if (m->slots[i].id)
			fn(m->slots[i].val, arg);
}
