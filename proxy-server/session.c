#include "session.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "../common/log.h"
#include "../common/status.h"
#include "../common/util.h"

struct session {
	struct sessions *ss;
	struct session *next, **pprev;
	uint8_t token[RESUME_TOKEN_LEN];
	uint8_t cert_id[TLS_CERT_ID_LEN];
	char *name;
	struct tunnel *t; /* while up; NULL once lost */
	struct kept kept;
	ev_timer expiry; /* lost: resume-window */
	ev_tstamp lost_at;
	int taking; /* sessions_resume() closes its tunnel */
};

/* Token and certificate comparisons take the same time however many
 * bytes match. */
static int differ(const uint8_t *a, const uint8_t *b, size_t n)
{
	uint8_t d = 0;

	while (n--)
		d |= a[n] ^ b[n];
	return d != 0;
}

/* Random bytes from the kernel: a token is a secret. Never blocks for
 * long (the pool is ready once the system is up). */
static void random_bytes(uint8_t *p, size_t n)
{
	while (n) {
		ssize_t r = getrandom(p, n, 0);

		if (r < 0)
			continue; /* EINTR */
		p += r;
		n -= (size_t)r;
	}
}

void sessions_init(struct sessions *ss, struct ev_loop *loop, ev_tstamp window,
		   const struct sessions *first)
{
	memset(ss, 0, sizeof(*ss));
	ss->loop = loop;
	ss->window = window;
	if (first)
		memcpy(ss->instance, first->instance, sizeof(ss->instance));
	else
		random_bytes(ss->instance, sizeof(ss->instance));
}

static void session_free(struct session *s)
{
	if (s->t)
		tunnel_keep_into(s->t, NULL);
	ev_timer_stop(s->ss->loop, &s->expiry);
	if (!s->t)
		s->ss->lost--;
	kept_abort_all(&s->kept);
	*s->pprev = s->next;
	if (s->next)
		s->next->pprev = s->pprev;
	free(s->name);
	free(s);
}

static void expired(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct session *s = container_of(w, struct session, expiry);

	log_info("tunnel %s: %zu flows not resumed within resume-window "
		 "(%.0f s): closing them",
		 s->name, kept_count(&s->kept), s->ss->window);
	session_free(s);
}

struct session *session_new(struct sessions *ss, struct tunnel *t)
{
	struct session *s;

	if (!tunnel_resumes(t))
		return NULL;
	s = xcalloc(1, sizeof(*s));
	s->ss = ss;
	s->t = t;
	s->name = xstrdup(tunnel_peer(t));
	if (tls_peer_cert_id(tunnel_tls(t), s->cert_id))
		memset(s->cert_id, 0, sizeof(s->cert_id));
	memcpy(s->token, ss->instance, RESUME_INSTANCE_LEN);
	random_bytes(s->token + RESUME_INSTANCE_LEN,
		     RESUME_TOKEN_LEN - RESUME_INSTANCE_LEN);
	ev_timer_init(&s->expiry, expired, ss->window, 0.);
	s->next = ss->head;
	if (s->next)
		s->next->pprev = &s->next;
	s->pprev = &ss->head;
	ss->head = s;
	tunnel_keep_into(t, &s->kept);
	tunnel_send_session(t, s->token);
	return s;
}

void session_lost(struct session *s)
{
	s->t = NULL;
	s->ss->lost++;
	if (s->taking)
		return;
	if (!kept_count(&s->kept)) {
		session_free(s);
		return;
	}
	s->lost_at = ev_now(s->ss->loop);
	ev_timer_start(s->ss->loop, &s->expiry);
}

void session_end(struct session *s)
{
	if (s->t)
		tunnel_keep_into(s->t, NULL);
}

static struct session *find(struct sessions *ss, const uint8_t *token)
{
	struct session *s;

	for (s = ss->head; s; s = s->next)
		if (!differ(s->token, token, RESUME_TOKEN_LEN))
			return s;
	return NULL;
}

/* Why a token resumes nothing, or RESUME_OK. */
static uint8_t check(struct sessions *ss, struct session *s, struct tunnel *t,
		     const uint8_t *token)
{
	uint8_t id[TLS_CERT_ID_LEN];

	if (!s)
		return memcmp(token, ss->instance, RESUME_INSTANCE_LEN) ?
			       RESUME_RESTARTED :
			       RESUME_UNKNOWN;
	if (s->t == t)
		return RESUME_UNKNOWN; /* its own token: nothing to move */
	if (strcmp(s->name, tunnel_peer(t)) ||
	    tls_peer_cert_id(tunnel_tls(t), id) ||
	    differ(id, s->cert_id, sizeof(id)))
		return RESUME_OTHER_CERT;
	return RESUME_OK;
}

/* The client gave up on the tunnel first: its flows go to the session
 * as the close parks them, and session_lost() is not for it. */
static void take(struct session *s)
{
	struct tunnel *old = s->t;

	if (!old)
		return;
	s->taking = 1;
	tunnel_close(old, "replaced: its flows resume on a new connection");
	if (s->t == old) { /* its owner did not call session_lost */
		s->t = NULL;
		s->ss->lost++;
	}
}

int sessions_elsewhere(struct sessions *ss, const uint8_t *token)
{
	return !find(ss, token) &&
	       !memcmp(token, ss->instance, RESUME_INSTANCE_LEN);
}

uint8_t sessions_move(struct sessions *const *all, int n, int to,
		      struct tunnel *t, const uint8_t *token)
{
	for (int j = 0; j < n; j++) {
		struct session *s = j == to ? NULL : find(all[j], token);
		uint8_t code;

		if (!s)
			continue;
		code = check(all[j], s, t, token);
		if (code != RESUME_OK)
			return code; /* it stays where it is, for its owner */
		take(s);
		/* its expiry may be due in worker j's loop: stopping it
		 * there also takes back the pending call */
		ev_timer_stop(all[j]->loop, &s->expiry);
		all[j]->lost--;
		*s->pprev = s->next;
		if (s->next)
			s->next->pprev = s->pprev;
		s->ss = all[to];
		s->next = all[to]->head;
		if (s->next)
			s->next->pprev = &s->next;
		s->pprev = &all[to]->head;
		all[to]->head = s;
		all[to]->lost++;
		log_info("%s: %zu flows of worker %d move to worker %d",
			 tunnel_name(t), kept_count(&s->kept), j, to);
		return RESUME_OK;
	}
	return RESUME_UNKNOWN;
}

void sessions_resume(struct sessions *ss, struct tunnel *t,
		     const uint8_t *token, uint32_t count, uint8_t elsewhere)
{
	struct session *s = find(ss, token);
	uint8_t code = check(ss, s, t, token);

	if (!s && code == RESUME_UNKNOWN && elsewhere != RESUME_OK)
		code = elsewhere; /* another worker's, and not for t */
	if (code != RESUME_OK) {
		ss->refused++;
		/* a client with no flows only frees what we kept */
		log_msg(count ? LOG_WARN : LOG_DEBUG,
			"%s: resume of %u flows "
			"refused: %s",
			tunnel_name(t), count, resume_code_text(code));
		tunnel_resume_answer(t, code, NULL);
		return;
	}
	take(s);
	ss->resumed++;
	log_info("%s: resuming %zu flows (lost %.1f s ago)", tunnel_name(t),
		 kept_count(&s->kept),
		 s->lost_at ? ev_now(ss->loop) - s->lost_at : 0.0);
	tunnel_resume_answer(t, RESUME_OK, &s->kept);
	session_free(s); /* the token is spent */
}

void sessions_free(struct sessions *ss)
{
	while (ss->head)
		session_free(ss->head);
}

/* status: the sessions of every worker as one. */
void sessions_status(struct sessions *const *all, int n, struct buf *b,
		     int json)
{
	struct session *s;
	size_t flows = 0;
	uint64_t resumed = 0, refused = 0;
	int first = 1;

	for (int i = 0; i < n; i++) {
		resumed += all[i]->resumed;
		refused += all[i]->refused;
		for (s = all[i]->head; s; s = s->next)
			if (!s->t)
				flows += kept_count(&s->kept);
	}
	if (!json) {
		if (!flows)
			return;
		status_printf(b,
			      "\n%zu flows waiting to resume (resume-window "
			      "%.0f s)\n",
			      flows, all[0]->window);
		for (int i = 0; i < n; i++)
			for (s = all[i]->head; s; s = s->next)
				if (!s->t)
					status_printf(
						b,
						"  %-20s %zu flows, lost %.0f "
						"s ago\n",
						s->name, kept_count(&s->kept),
						ev_now(all[i]->loop) -
							s->lost_at);
		return;
	}
	status_printf(b,
		      ",\"resume\":{\"window\":%.0f,\"waiting_flows\":%zu,"
		      "\"resumed\":%llu,\"refused\":%llu,\"waiting\":[",
		      all[0]->window, flows, (unsigned long long)resumed,
		      (unsigned long long)refused);
	for (int i = 0; i < n; i++)
		for (s = all[i]->head; s; s = s->next) {
			if (s->t)
				continue;
			status_printf(b, "%s{\"user\":", first ? "" : ",");
			first = 0;
			status_json_str(b, s->name);
			status_printf(b, ",\"flows\":%zu,\"lost_for\":%.1f}",
				      kept_count(&s->kept),
				      ev_now(all[i]->loop) - s->lost_at);
		}
	status_printf(b, "]}");
}
