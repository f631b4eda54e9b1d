/* A TCP flow the client asked for (FRAME_OPEN): resolved, checked
 * against the policy and connected here, then relayed. */
#ifndef PROXY_SERVER_OUTBOUND_H
#define PROXY_SERVER_OUTBOUND_H

struct budget_user;
struct frame;
struct server;
struct tunnel;

/* Answers the OPEN on the tunnel with what really happened. The flow
 * holds the place in u's budget the caller took for it, and gives it
 * back (budget_give) when it ends. */
void outbound_open(struct server *s, struct tunnel *t, const struct frame *f,
		   struct budget_user *u);

#endif
