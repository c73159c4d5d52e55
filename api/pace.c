/* pace.c - pacing of messenger ingest on the search index (pace.h). */
#include "api/pace.h"

#define PACE_WINDOW_NS 250000000ull /* the index's rate is measured over this */
#define PACE_BURST_NS 20000000ull   /* the bucket holds at most this long at the rate */
#define PACE_SHARE 0.95             /* of the index's rate, so that the lag drifts down */

/* Updates the estimate of the index's rate from a window in which the
 * index had work at both ends: an idle index says nothing of its speed. */
static void measure(struct pace *p, uint64_t now, uint64_t done, int busy)
{
	double r;

	if (!p->win_ns || now < p->win_ns) {
		p->win_ns = now;
		p->win_done = done;
		p->win_busy = busy;
		return;
	}
	if (now - p->win_ns < PACE_WINDOW_NS)
		return;
	if (p->win_busy && busy && done >= p->win_done) {
		r = (double)(done - p->win_done) * 1e9 / (double)(now - p->win_ns);
		p->rate = p->rate > 0 ? 0.7 * p->rate + 0.3 * r : r;
	}
	p->win_ns = now;
	p->win_done = done;
	p->win_busy = busy;
}

int pace_admit(struct pace *p, uint64_t now, uint64_t done, uint64_t size, uint64_t max_lag)
{
	uint64_t lag = size > done ? size - done : 0, soft = max_lag / 4;
	double cap;

	if (lag > max_lag)
		return 0;
	measure(p, now, done, lag > soft);
	if (p->rate > 0 && p->tok_ns && now > p->tok_ns) {
		cap = p->rate * PACE_SHARE * (double)PACE_BURST_NS / 1e9;
		p->tokens += p->rate * PACE_SHARE * (double)(now - p->tok_ns) / 1e9;
		if (p->tokens > cap)
			p->tokens = cap;
	}
	p->tok_ns = now;
	/* Below the soft mark ingest goes unpaced and owes nothing. */
	p->unpaced = lag <= soft || p->rate <= 0;
	if (p->unpaced) {
		if (p->tokens < 0)
			p->tokens = 0;
		return 1;
	}
	return p->tokens >= 0;
}

void pace_charge(struct pace *p, uint64_t records)
{
	if (!p->unpaced)
		p->tokens -= (double)records;
}
