/* Unit tests for proxy-server/budget.c, the server-wide budget of
 * descriptors and buffers: limits derived from the open-file limit less
 * the reserve and from memory (and clamped when set beyond what the
 * descriptors allow), a limit that leaves nothing refused with a reason,
 * per-user and total counting over several tunnels of several users,
 * entries living as long as a tunnel or a flow of theirs, and the status
 * text. The buffer pool itself is enforced by common/tunnel.c (see
 * test_tunnel.c's test_pool). */
#include <string.h>

#include "../../proxy-server/budget.h"
#include "test.h"

static void test_derive(void)
{
	struct budget_conf c = { 0 };
	struct budget_env e = { .nofile = 20000,
				.mem = 8ull << 30,
				.reserve = 500 };
	struct budget_limits l;
	char why[600];

	CHECK_EQ(budget_derive(&c, &e, &l, why, sizeof(why)), BUDGET_OK);
	CHECK_EQ(l.flows_total, 19500);
	CHECK_EQ(l.flows_per_user, 19500 / 4);
	CHECK_EQ(l.buffer_total, 1ull << 30);
	CHECK(strstr(why, "max-flows-total 19500 (open-file limit 20000 less "
			  "500"));
	CHECK(strstr(why, "max-flows-per-user 4875"));
	CHECK(strstr(why, "an eighth of"));

	/* memory: at least 16 MiB, at most 4 GiB, a default when unknown */
	e.mem = 64ull << 20;
	budget_derive(&c, &e, &l, why, sizeof(why));
	CHECK_EQ(l.buffer_total, 16ull << 20);
	e.mem = 1ull << 40;
	budget_derive(&c, &e, &l, why, sizeof(why));
	CHECK_EQ(l.buffer_total, 4ull << 30);
	e.mem = 0;
	budget_derive(&c, &e, &l, why, sizeof(why));
	CHECK_EQ(l.buffer_total, 512ull << 20);
	CHECK(strstr(why, "memory unknown"));

	/* set values are kept when the descriptors allow them */
	c.flows_total = 1000;
	c.flows_per_user = 300;
	c.buffer_total = 2u << 20;
	CHECK_EQ(budget_derive(&c, &e, &l, why, sizeof(why)), BUDGET_OK);
	CHECK_EQ(l.flows_total, 1000);
	CHECK_EQ(l.flows_per_user, 300);
	CHECK_EQ(l.buffer_total, 2u << 20);
	CHECK(strstr(why, "max-flows-total 1000 (set)"));

	/* ... and clamped when they do not: no EMFILE by configuration */
	c.flows_total = 100000;
	c.flows_per_user = 200000;
	CHECK_EQ(budget_derive(&c, &e, &l, why, sizeof(why)), BUDGET_OK);
	CHECK_EQ(l.flows_total, 19500);
	CHECK_EQ(l.flows_per_user, 19500);
	CHECK(strstr(why, "not the 100000 set"));

	/* a small limit: a quarter of a few, but at least one */
	memset(&c, 0, sizeof(c));
	e.nofile = 502;
	CHECK_EQ(budget_derive(&c, &e, &l, why, sizeof(why)), BUDGET_OK);
	CHECK_EQ(l.flows_total, 2);
	CHECK_EQ(l.flows_per_user, 1);

	/* nothing left for flows: refused, saying what to raise */
	e.nofile = 500;
	CHECK_EQ(budget_derive(&c, &e, &l, why, sizeof(why)), BUDGET_NOFILE);
	CHECK(strstr(why, "ulimit -n"));
	e.nofile = 100;
	CHECK_EQ(budget_derive(&c, &e, &l, why, sizeof(why)), BUDGET_NOFILE);
}

static void test_counting(void)
{
	struct budget_limits lim = { .flows_total = 10,
				     .flows_per_user = 4,
				     .buffer_total = 1u << 20 };
	struct budget b;
	struct budget_user *a1, *a2, *bob, *carol;
	int i, ok = 0;

	budget_init(&b, &lim);
	CHECK_EQ(b.pool.max, 1u << 20);
	a1 = budget_user_get(&b, "alice");
	a2 = budget_user_get(&b, "alice");
	CHECK(a1 == a2); /* one entry over all of alice's tunnels */
	CHECK_EQ(budget_user_tunnels(a1), 2);
	bob = budget_user_get(&b, "bob");
	CHECK(bob != a1);
	CHECK_EQ(budget_user_tunnels(bob), 1);

	/* alice's two tunnels together get 4 */
	for (i = 0; i < 3; i++)
		ok += budget_take(a1) == BUDGET_OK;
	for (i = 0; i < 3; i++)
		ok += budget_take(a2) == BUDGET_OK;
	CHECK_EQ(ok, 4);
	CHECK_EQ(b.refused_user, 2);
	CHECK_EQ(b.flows, 4);
	CHECK_EQ(budget_take(a1), BUDGET_USER);
	/* bob is not held back by alice */
	CHECK_EQ(budget_take(bob), BUDGET_OK);
	/* one given back: alice may open one more */
	budget_give(a1);
	CHECK_EQ(budget_take(a2), BUDGET_OK);

	/* the total: bob and carol fill it, then everyone is refused */
	carol = budget_user_get(&b, "carol");
	for (i = 0; i < 3; i++)
		CHECK_EQ(budget_take(bob), BUDGET_OK);
	CHECK_EQ(budget_take(bob), BUDGET_USER);
	CHECK_EQ(b.flows, 8);
	CHECK_EQ(budget_take(carol), BUDGET_OK);
	CHECK_EQ(budget_take(carol), BUDGET_OK);
	CHECK_EQ(b.flows, 10);
	CHECK_EQ(budget_take(carol), BUDGET_TOTAL);
	CHECK_EQ(b.refused_total, 1);
	CHECK_STR(budget_strerror(BUDGET_TOTAL), "max-flows-total");
	CHECK_STR(budget_strerror(BUDGET_USER), "max-flows-per-user");

	/* carol's tunnel goes first, her flows after: the entry lives on
	 * until the last flow is given back */
	budget_user_put(carol);
	CHECK(b.users == carol);
	budget_give(carol);
	budget_give(carol);
	CHECK(b.users != carol);
	CHECK_EQ(b.flows, 8);
	/* a name seen again is a fresh entry */
	carol = budget_user_get(&b, "carol");
	CHECK_EQ(budget_user_tunnels(carol), 1);
	CHECK_EQ(budget_take(carol), BUDGET_OK);
	budget_give(carol);
	budget_user_put(carol);

	/* everything back: no entry left */
	for (i = 0; i < 4; i++)
		budget_give(a1);
	for (i = 0; i < 4; i++)
		budget_give(bob);
	CHECK_EQ(b.flows, 0);
	budget_user_put(a1);
	CHECK_EQ(budget_user_tunnels(a2), 1);
	budget_user_put(a2);
	budget_user_put(bob);
	CHECK(b.users == NULL);
	budget_free(&b);
}

static void test_status(void)
{
	struct budget_limits lim = { .flows_total = 10,
				     .flows_per_user = 4,
				     .buffer_total = 1u << 20 };
	struct budget b;
	struct budget_user *u;
	struct buf out;
	char text[1024];

	budget_init(&b, &lim);
	u = budget_user_get(&b, "alice");
	budget_take(u);
	b.pool.buffered = 1234;
	buf_init(&out, 4096);
	budget_status(&b, &b.pool, &out, 1);
	snprintf(text, sizeof(text), "%.*s", (int)buf_len(&out),
		 (const char *)buf_peek(&out));
	CHECK(strstr(text, "\"flows_in_use\":1,\"flows_total\":10,"
			   "\"flows_per_user\":4"));
	CHECK(strstr(text, "\"buffer_in_use\":1234,\"buffer_total\":1048576"));
	buf_consume(&out, buf_len(&out));
	budget_status(&b, &b.pool, &out, 0);
	snprintf(text, sizeof(text), "%.*s", (int)buf_len(&out),
		 (const char *)buf_peek(&out));
	CHECK(strstr(text, "1 of 10 flows in use"));
	CHECK(strstr(text, "(max-buffer-total)"));
	buf_release(&out);
	budget_give(u);
	budget_user_put(u);
	budget_free(&b);
}

int main(void)
{
	test_derive();
	test_counting();
	test_status();
	return test_summary("test_budget");
}
