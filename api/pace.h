/* pace.h - pacing of messenger ingest on the search index.
 *
 * The commit queue holds messenger ingest back while the index is more
 * than index_max_lag records behind the log. Holding it back only at that
 * bound made every pause of the index (a transaction commit, an FTS5
 * merge: tens to hundreds of milliseconds) a pause of every
 * acknowledgement. So once the lag passes a quarter of the bound, ingest
 * is admitted at the rate the index has been processing records (a token
 * bucket), a little below it, and the lag left below the bound absorbs
 * the index's pauses. Below the quarter ingest goes unpaced.
 *
 * Plain state, no locks: the committer thread alone calls these.
 */
#ifndef CUSTOS_API_PACE_H
#define CUSTOS_API_PACE_H

#include <stdint.h>

struct pace {
	uint64_t win_ns;   /* start of the rate window (0: none yet) */
	uint64_t win_done; /* records the index had processed then */
	int win_busy;      /* the index had work then (lag above the soft mark) */
	double rate;       /* records/s the index processes (0: not known yet) */
	double tokens;     /* records ingest may commit now */
	uint64_t tok_ns;   /* last refill */
	int unpaced;       /* the last admission was below the soft mark */
};

/* May held-back ingest be committed now? now_ns: a monotonic clock; done:
 * records the index has processed; size: records in the log. */
int pace_admit(struct pace *p, uint64_t now_ns, uint64_t done, uint64_t size, uint64_t max_lag);
/* Charges records just committed to the bucket. */
void pace_charge(struct pace *p, uint64_t records);

#endif
