/* Unit tests for common/dpkt.c and common/dseal.c: the replay window
 * takes each counter once, in any order inside the window, none below
 * it, and slides over any gap; a packet sealed by one side opens on the
 * other with the same plaintext, once; a flipped bit anywhere, a
 * packet of the wrong direction or another tunnel's id, and a replay
 * are refused without marking anything; the header is as documented
 * (docs/PROTOCOL.md section 15). */
#include "../../common/dseal.h"
#include "test.h"

static void test_replay(void)
{
	struct replay r = { 0 };

	CHECK(replay_check(&r, 0));
	CHECK_EQ(replay_mark(&r, 0), 1);
	CHECK(!replay_check(&r, 0));
	CHECK(replay_check(&r, 5));
	CHECK_EQ(replay_mark(&r, 5), 1);
	/* below the top, inside the window, not seen: fine once */
	CHECK(replay_check(&r, 3));
	CHECK_EQ(replay_mark(&r, 3), 0);
	CHECK(!replay_check(&r, 3));
	CHECK(!replay_check(&r, 5));
	CHECK(replay_check(&r, 4));
	/* a jump inside the window keeps what it held */
	CHECK_EQ(replay_mark(&r, 1000), 1);
	CHECK(!replay_check(&r, 3));
	CHECK(replay_check(&r, 4));
	/* the edge: top - ctr < REPLAY_WINDOW is inside */
	CHECK_EQ(replay_mark(&r, 5000), 1);
	CHECK(replay_check(&r, 5000 - REPLAY_WINDOW + 1));
	CHECK(!replay_check(&r, 5000 - REPLAY_WINDOW));
	CHECK(!replay_check(&r, 4));
	/* slots reused after the slide are clear */
	for (uint64_t c = 5001; c < 5000 + 3 * 64; c++) {
		CHECK(replay_check(&r, c));
		replay_mark(&r, c);
	}
	for (uint64_t c = 5000 + 3 * 64 - REPLAY_WINDOW + 1; c < 5000 + 3 * 64;
	     c++)
		if (replay_check(&r, c) != (c < 5000 && c != 1000))
			CHECK(!"window state after a slide");
	/* a jump past the whole window forgets everything below */
	CHECK_EQ(replay_mark(&r, 1u << 20), 1);
	CHECK(!replay_check(&r, 5100));
	CHECK(replay_check(&r, (1u << 20) - 1));
	CHECK(!replay_check(&r, 1u << 20));
	/* every counter of a shuffled run is taken exactly once */
	{
		struct replay q = { 0 };
		int bad = 0;

		for (uint64_t base = 0; base < 100000; base += 100)
			for (uint64_t k = 0; k < 100; k++) {
				uint64_t c = base + (k * 37) % 100;

				if (!replay_check(&q, c)) {
					bad++;
					continue;
				}
				replay_mark(&q, c);
				if (replay_check(&q, c))
					bad++;
			}
		CHECK_EQ(bad, 0);
	}
}

static void material(uint8_t m[DSEAL_MATERIAL_LEN], uint8_t seed)
{
	for (int i = 0; i < DSEAL_MATERIAL_LEN; i++)
		m[i] = (uint8_t)(seed + i * 13);
}

static void test_seal(void)
{
	uint8_t m[DSEAL_MATERIAL_LEN], other[DSEAL_MATERIAL_LEN];
	struct dseal cli, srv, stranger;
	uint8_t pkt[DPKT_MAX_LEN], plain[DPKT_MAX_PLAIN], frame[64];
	uint8_t probe[DPKT_PROBE_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct addr a;
	struct frame f;
	uint8_t kind;
	int n, pl, newest, bad = 0;

	material(m, 1);
	material(other, 2);
	CHECK_EQ(dseal_init(&cli, m, 0), 0);
	CHECK_EQ(dseal_init(&srv, m, 1), 0);
	CHECK_EQ(dseal_init(&stranger, other, 0), 0);

	n = dseal_seal(&cli, DPKT_PROBE, probe, sizeof(probe), pkt,
		       sizeof(pkt));
	CHECK_EQ(n, DPKT_HDR_LEN + 1 + 8 + DPKT_TAG_LEN);
	/* the clear header: id (material bytes 64..71), counter 0 */
	CHECK(!memcmp(pkt, m + 64, 8));
	CHECK_HEX(pkt + 8, 8, "00 00 00 00 00 00 00 00");
	pl = dseal_open(&srv, pkt, (size_t)n, plain, &newest);
	CHECK_EQ(pl, 9);
	CHECK(newest);
	CHECK_EQ(dpkt_parse_plain(plain, (size_t)pl, &kind, &f), 0);
	CHECK_EQ(kind, DPKT_PROBE);
	CHECK(!memcmp(plain + 1, probe, 8));
	/* the same packet again: a replay */
	CHECK_EQ(dseal_open(&srv, pkt, (size_t)n, plain, &newest),
		 DSEAL_ERR_REPLAY);
	/* our own direction's packet does not open with our rx key */
	CHECK_EQ(dseal_open(&cli, pkt, (size_t)n, plain, &newest),
		 DSEAL_ERR_AUTH);
	/* every single flipped bit of a fresh packet is refused, and
	 * refusing marks nothing: the good packet opens afterwards */
	n = dseal_seal(&cli, DPKT_PROBE, probe, sizeof(probe), pkt,
		       sizeof(pkt));
	CHECK_HEX(pkt + 8, 8, "00 00 00 00 00 00 00 01");
	for (int i = 0; i < n * 8; i++) {
		uint8_t copy[DPKT_MAX_LEN];
		int rc;

		memcpy(copy, pkt, (size_t)n);
		copy[i / 8] ^= (uint8_t)(1 << (i % 8));
		rc = dseal_open(&srv, copy, (size_t)n, plain, &newest);
		if (rc >= 0)
			bad++;
		if (i < 64 && rc != DSEAL_ERR_ID)
			bad++; /* the id is checked first, for free */
	}
	CHECK_EQ(bad, 0);
	CHECK_EQ(dseal_open(&srv, pkt, (size_t)n, plain, &newest), 9);
	/* another tunnel's keys: its packets are another id */
	stranger.tx_ctr = 50; /* a counter srv has not seen */
	n = dseal_seal(&stranger, DPKT_PROBE, probe, sizeof(probe), pkt,
		       sizeof(pkt));
	CHECK_EQ(dseal_open(&srv, pkt, (size_t)n, plain, &newest),
		 DSEAL_ERR_ID);
	/* the same id with a wrong key: the tag fails */
	memcpy(pkt, m + 64, 8);
	CHECK_EQ(dseal_open(&srv, pkt, (size_t)n, plain, &newest),
		 DSEAL_ERR_AUTH);
	/* sizes */
	CHECK_EQ(dseal_open(&srv, pkt, DPKT_MIN_LEN - 1, plain, &newest),
		 DPKT_ERR_SIZE);
	CHECK_EQ(dseal_open(&srv, pkt, DPKT_MAX_LEN + 1, plain, &newest),
		 DPKT_ERR_SIZE);

	/* a UDP_DATA frame server -> client, out of order with another */
	addr_parse("192.0.2.7:4000", 0, &a);
	{
		int hl = frame_udp_hdr(frame, sizeof(frame), 3, &a, 5);
		uint8_t p2[DPKT_MAX_LEN];
		int n2;

		memcpy(frame + hl, "hello", 5);
		n = dseal_seal(&srv, DPKT_FRAME, frame, (size_t)hl + 5, pkt,
			       sizeof(pkt));
		n2 = dseal_seal(&srv, DPKT_PROBE_ACK, probe, 8, p2, sizeof(p2));
		CHECK_EQ(dseal_open(&cli, p2, (size_t)n2, plain, &newest), 9);
		CHECK(newest);
		pl = dseal_open(&cli, pkt, (size_t)n, plain, &newest);
		CHECK_EQ(pl, 1 + hl + 5);
		CHECK(!newest); /* older than the ack */
		CHECK_EQ(dpkt_parse_plain(plain, (size_t)pl, &kind, &f), 0);
		CHECK_EQ(kind, DPKT_FRAME);
		CHECK_EQ(f.type, FRAME_UDP_DATA);
		CHECK_EQ(f.stream, 3);
		CHECK_EQ(f.len, 7 + 5);
		/* a frame with a byte too many, or not UDP_DATA */
		plain[pl] = 0;
		CHECK_EQ(dpkt_parse_plain(plain, (size_t)pl + 1, &kind, &f),
			 DPKT_ERR_FRAME);
		plain[1] = FRAME_DATA;
		CHECK_EQ(dpkt_parse_plain(plain, (size_t)pl, &kind, &f),
			 DPKT_ERR_FRAME);
	}
	/* kinds and probe sizes */
	{
		uint8_t p[10] = { DPKT_PROBE };

		CHECK_EQ(dpkt_parse_plain(p, 9, &kind, &f), 0);
		CHECK_EQ(dpkt_parse_plain(p, 8, &kind, &f), DPKT_ERR_KIND);
		CHECK_EQ(dpkt_parse_plain(p, 10, &kind, &f), DPKT_ERR_KIND);
		p[0] = 0;
		CHECK_EQ(dpkt_parse_plain(p, 9, &kind, &f), DPKT_ERR_KIND);
		p[0] = 4;
		CHECK_EQ(dpkt_parse_plain(p, 9, &kind, &f), DPKT_ERR_KIND);
		CHECK_EQ(dpkt_parse_plain(p, 0, &kind, &f), DPKT_ERR_KIND);
	}
	/* the counter limit */
	cli.tx_ctr = DSEAL_CTR_MAX;
	CHECK_EQ(dseal_seal(&cli, DPKT_PROBE, probe, 8, pkt, sizeof(pkt)),
		 DSEAL_ERR_SPENT);
	/* too big for a packet */
	CHECK_EQ(dseal_seal(&srv, DPKT_FRAME, plain, FRAME_MAX_LEN + 1, pkt,
			    sizeof(pkt)),
		 DPKT_ERR_SIZE);
	dseal_free(&cli);
	dseal_free(&srv);
	dseal_free(&stranger);
}

/* docs/PROTOCOL.md section 15.6, checked against a second
 * ChaCha20-Poly1305 implementation. */
static void test_known_answer(void)
{
	uint8_t m[DSEAL_MATERIAL_LEN], pkt[64], plain[DPKT_MAX_PLAIN];
	static const uint8_t op[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct dseal c, s;
	int n, newest;

	for (int i = 0; i < DSEAL_MATERIAL_LEN; i++)
		m[i] = (uint8_t)i;
	CHECK_EQ(dseal_init(&c, m, 0), 0);
	CHECK_EQ(dseal_init(&s, m, 1), 0);
	n = dseal_seal(&c, DPKT_PROBE, op, 8, pkt, sizeof(pkt));
	CHECK_HEX(pkt, n,
		  "4041424344454647 0000000000000000 "
		  "19b94032a9e3a0d61b 755fa587591687f7ac9883628cefa37f");
	CHECK_EQ(dseal_open(&s, pkt, (size_t)n, plain, &newest), 9);
	n = dseal_seal(&s, DPKT_PROBE_ACK, op, 8, pkt, sizeof(pkt));
	CHECK_HEX(pkt, n,
		  "4041424344454647 0000000000000000 "
		  "82625ddf178dd11a92 458d9350c8552909b4ee30233a315028");
	CHECK_EQ(dseal_open(&c, pkt, (size_t)n, plain, &newest), 9);
	dseal_free(&c);
	dseal_free(&s);
}

int main(void)
{
	test_known_answer();
	test_replay();
	test_seal();
	return test_summary("dseal");
}
