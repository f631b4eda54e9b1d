/* Resume (docs/PROTOCOL.md section 16): the streams of a lost tunnel
 * are parked in a struct kept instead of ending, and a new tunnel that
 * presents the token (client: RESUME; server: the answer, RESUMED)
 * takes them over under the same ids, each side then telling the other
 * with SYNC how much it received. The byte-level work is the streams'
 * (flow.c); this file moves streams between tunnels and kept sets and
 * checks the order of the resume frames. */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "tunnel_int.h"
#include "util.h"

int tunnel_resumes(const struct tunnel *t)
{
	return t->resumes;
}

void tunnel_keep_into(struct tunnel *t, struct kept *k)
{
	t->keep = k;
}

size_t kept_count(const struct kept *k)
{
	return idmap_count(&k->streams);
}

struct slist {
	struct stream **v;
	size_t n;
};

static void collect(void *val, void *arg)
{
	struct slist *l = arg;

	l->v[l->n++] = val;
}

/* The streams of a map, so that the map can change while they are
 * handled one by one. */
static struct slist list_of(const struct idmap *m)
{
	struct slist l = { xcalloc(idmap_count(m) + 1, sizeof(*l.v)), 0 };

	idmap_each(m, collect, &l);
	return l;
}

void kept_forget(struct stream *s)
{
	if (s->kept)
		idmap_del(&s->kept->streams, s->id);
	s->kept = NULL;
}

void kept_abort_all(struct kept *k)
{
	struct slist l = list_of(&k->streams);

	for (size_t i = 0; i < l.n; i++) {
		kept_forget(l.v[i]);
		l.v[i]->ops->abort(l.v[i]);
	}
	free(l.v);
	idmap_free(&k->streams);
	k->has_token = 0;
}

struct kept_each_ctx {
	void (*fn)(const struct stream_info *i, void *arg);
	void *arg;
};

static void kept_one(void *val, void *arg)
{
	struct kept_each_ctx *c = arg;
	struct stream *s = val;
	struct stream_info i;

	memset(&i, 0, sizeof(i));
	s->ops->info(s, &i);
	c->fn(&i, c->arg);
}

void kept_each(struct kept *k,
	       void (*fn)(const struct stream_info *i, void *arg), void *arg)
{
	struct kept_each_ctx c = { fn, arg };

	idmap_each(&k->streams, kept_one, &c);
}

int resume_parks(const struct tunnel *t, int protocol_error)
{
	return t->keep && t->resumes && !t->goaway_rcvd && !protocol_error;
}

int resume_park(struct tunnel *t, struct stream *s)
{
	if (!s->ops->park || s->ops->park(s))
		return 0;
	s->resuming = 0;
	s->kept = t->keep;
	idmap_put(&t->keep->streams, s->id, s);
	return 1;
}

/* Client: the server holds this tunnel's streams under its SESSION
 * token now (nothing was resumed here, or RESUMED came): that is the
 * token of the kept set from here on. Until then the set keeps the
 * token it resumed with: a tunnel lost before RESUMED came tries that
 * one again (the server may never have seen the RESUME). */
static void token_holds(struct tunnel *t)
{
	t->token_ok = 1;
	if (!t->keep)
		return;
	memcpy(t->keep->token, t->token, RESUME_TOKEN_LEN);
	t->keep->has_token = 1;
}

/* Moves every stream of k onto t, each waiting for its SYNC. */
static void adopt_all(struct tunnel *t, struct kept *k)
{
	struct slist l = list_of(&k->streams);

	for (size_t i = 0; i < l.n; i++) {
		struct stream *s = l.v[i];

		kept_forget(s);
		tunnel_attach(t, s, s->id, s->ops);
		s->resuming = 1;
	}
	idmap_free(&k->streams);
	/* attached all first: a stream's adopt may look at the tunnel */
	for (size_t i = 0; i < l.n; i++)
		if (l.v[i]->t == t)
			l.v[i]->ops->adopt(l.v[i]);
	free(l.v);
}

/* Streams still waiting for a SYNC once there can be none: the server's
 * that the client no longer has (it says nothing of them: the peer
 * knows them not), or all on a client the server refused. */
static void end_unsynced(struct tunnel *t)
{
	struct slist l = list_of(&t->streams);

	for (size_t i = 0; i < l.n; i++) {
		struct stream *s = l.v[i];

		if (idmap_get(&t->streams, s->id) == s && s->resuming) {
			s->resuming = 0;
			s->ops->abort(s);
		}
	}
	free(l.v);
}

static size_t count_resuming(struct tunnel *t)
{
	struct slist l = list_of(&t->streams);
	size_t n = 0;

	for (size_t i = 0; i < l.n; i++)
		n += l.v[i]->resuming;
	free(l.v);
	return n;
}

void tunnel_send_session(struct tunnel *t, const uint8_t *token)
{
	uint8_t f[FRAME_HDR_LEN + RESUME_TOKEN_LEN];

	if (!t->resumes || t->state != T_UP)
		return;
	frame_session(f, sizeof(f), token);
	out_queue_ctl(t, f, sizeof(f));
}

int tunnel_resume_send(struct tunnel *t, struct kept *k)
{
	uint8_t f[FRAME_HDR_LEN + RESUME_TOKEN_LEN + 4];
	uint32_t n = (uint32_t)kept_count(k);

	if (!t->resumes || !k->has_token || t->state != T_UP)
		return -1;
	frame_resume(f, sizeof(f), k->token, n);
	tunnel_send(t, f, sizeof(f));
	t->resume_sent = 1;
	t->token_ok = 0;
	if (n)
		log_info("%s: resuming %u flows", t->name, n);
	adopt_all(t, k);
	return 0;
}

void tunnel_resume_answer(struct tunnel *t, uint8_t code, struct kept *k)
{
	uint8_t f[FRAME_HDR_LEN + 1];

	frame_code(f, sizeof(f), FRAME_RESUMED, 0, code);
	out_queue_ctl(t, f, sizeof(f));
	if (code != RESUME_OK) {
		t->resume_failed = 1; /* the client ends its flows itself */
		return;
	}
	if (k)
		adopt_all(t, k);
	if (!t->sync_left)
		end_unsynced(t);
}

static int fail_order(struct tunnel *t, const struct frame *f)
{
	log_warn("%s: %s out of place", t->name, frame_type_name(f->type));
	tunnel_protocol_error(t);
	return -1;
}

static void got_resumed(struct tunnel *t, uint8_t code)
{
	size_t n;

	t->resume_sent = 0;
	token_holds(t);
	if (code == RESUME_OK)
		return;
	n = count_resuming(t);
	if (n) /* else it only freed what the server kept */
		log_warn("%s: %zu flows not resumed: %s", t->name, n,
			 resume_code_text(code));
	end_unsynced(t);
}

static void got_sync(struct tunnel *t, const struct frame *f)
{
	struct stream *s = idmap_get(&t->streams, f->stream);
	uint8_t b[FRAME_HDR_LEN + 1];

	if (t->p.is_server && t->sync_left) {
		if (!--t->sync_left && !t->resume_failed) {
			/* the last one: handle it, then end the others */
			if (s && s->resuming) {
				s->resuming = 0;
				s->ops->frame(s, f);
			} else if (!s) {
				frame_code(b, sizeof(b), FRAME_RST, f->stream,
					   PROTO_GENERAL_FAILURE);
				out_queue_ctl(t, b, sizeof(b));
			}
			end_unsynced(t);
			return;
		}
		if (t->resume_failed)
			return;
	}
	if (s && s->resuming) {
		s->resuming = 0;
		s->ops->frame(s, f);
	} else if (!s && t->p.is_server) {
		/* the client holds a stream we no longer have */
		frame_code(b, sizeof(b), FRAME_RST, f->stream,
			   PROTO_GENERAL_FAILURE);
		out_queue_ctl(t, b, sizeof(b));
	}
	/* anything else: a stream that ended meanwhile, as in section 5 */
}

int resume_dispatch(struct tunnel *t, const struct frame *f)
{
	if (!t->resumes)
		return fail_order(t, f);
	switch (f->type) {
	case FRAME_SESSION:
		if (t->p.is_server)
			return fail_order(t, f);
		memcpy(t->token, frame_get_token(f), RESUME_TOKEN_LEN);
		if (!t->resume_sent)
			token_holds(t);
		return 0;
	case FRAME_RESUME:
		if (!t->p.is_server || t->resume_seen || t->opened)
			return fail_order(t, f);
		t->resume_seen = 1;
		t->sync_left = frame_get_resume_count(f);
		if (t->ops->resume)
			t->ops->resume(t, frame_get_token(f), t->sync_left);
		else
			tunnel_resume_answer(t, RESUME_REFUSED, NULL);
		return tunnel_ending(t) ? -1 : 0;
	case FRAME_RESUMED:
		if (t->p.is_server || !t->resume_sent)
			return fail_order(t, f);
		got_resumed(t, frame_get_code(f));
		return 0;
	case FRAME_SYNC:
		got_sync(t, f);
		return 0;
	default:
		return 0;
	}
}
