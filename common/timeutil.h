/* timeutil.h - wall-clock milliseconds and RFC 3339 parsing/formatting. */
#ifndef CUSTOS_COMMON_TIMEUTIL_H
#define CUSTOS_COMMON_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

int64_t time_now_ms(void);
/* Monotonic clock in nanoseconds, for latencies and ages. */
uint64_t time_mono_ns(void);
/* *ts = the wall clock ms milliseconds from now: a deadline for
 * pthread_cond_timedwait (which waits on CLOCK_REALTIME). */
struct timespec;
void time_deadline_ms(struct timespec *ts, unsigned ms);

/* Parses an RFC 3339 timestamp ("2024-05-01T12:00:00Z",
 * "2024-05-01T12:00:00.123+02:00") or a date "2024-05-01" (midnight UTC)
 * into milliseconds since the epoch. CU_EINVAL on anything else. */
int time_parse_rfc3339(const char *s, int64_t *ms_out) CU_MUST_CHECK;

/* Formats ms as "YYYY-MM-DDTHH:MM:SS.mmmZ" into out (size >= 32). */
void time_format_rfc3339(int64_t ms, char *out, size_t outlen);

#endif
