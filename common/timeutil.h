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
 * into milliseconds since the epoch. CU_EINVAL on anything else, and on a
 * day the calendar does not have (2023-02-29, 2024-04-31, month 00 or 13,
 * day 00): a date never rolls over into the next month. Hours 00-23,
 * minutes and seconds 00-59: a leap second (:60) is refused, as POSIX
 * time has none. Every date the archive takes (search after:/before:,
 * hold and export ranges, audit filters, envelopes, token and source
 * files) goes through here. */
int time_parse_rfc3339(const char *s, int64_t *ms_out) CU_MUST_CHECK;

/* Days in month (1-12) of the proleptic Gregorian year; 0 for a month out
 * of range. */
int time_days_in_month(int64_t year, int month);
/* 1 when year-month-day is a day of the proleptic Gregorian calendar. */
int time_date_valid(int64_t year, int month, int day);

/* a + b and a * b, saturated at INT64_MIN/INT64_MAX instead of wrapping:
 * a due date or deadline past the end of time stays at the end of time
 * (never due) instead of becoming due at once. */
int64_t time_add_sat(int64_t a, int64_t b);
int64_t time_mul_sat(int64_t a, int64_t b);

/* Formats ms as "YYYY-MM-DDTHH:MM:SS.mmmZ" into out (size >= 32). */
void time_format_rfc3339(int64_t ms, char *out, size_t outlen);

#endif
