/* A flow's receive window (flow_window.c), private to the flow's
 * files: flow.c calls it wherever bytes reached the socket or the
 * tunnel's in cap lets credit go again. */
#ifndef COMMON_FLOW_WINDOW_H
#define COMMON_FLOW_WINDOW_H

#include "flow.h"

/* Sends a WINDOW frame when half the window was delivered (and the
 * flow is not held back), growing the window while it is what limits
 * the flow. */
void flow_maybe_window(struct flow *f);

#endif
