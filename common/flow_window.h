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
/* The growth rule alone: whether a WINDOW of bytes holds fewer round
 * trips of data than a flow needs at RATE (bytes/s) over a path whose
 * minimum round trip is RTT seconds, on a path that loses segments
 * (LOSSY) or not. */
int flow_window_short(uint32_t window, double rate, double rtt, int lossy);
/* What a short window grows to: a few times WINDOW (more on a LOSSY
 * path), at most MAX. */
uint32_t flow_window_grown(uint32_t window, uint32_t max, int lossy);

#endif
