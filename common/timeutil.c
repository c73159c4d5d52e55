/* timeutil.c - clocks and RFC 3339. */
#include "common/timeutil.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t time_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t time_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void time_deadline_ms(struct timespec *ts, unsigned ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

int time_days_in_month(int64_t year, int month)
{
	static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	if (month < 1 || month > 12)
		return 0;
	return month == 2 && leap ? 29 : dm[month - 1];
}

int time_date_valid(int64_t year, int month, int day)
{
	return day >= 1 && day <= time_days_in_month(year, month);
}

int64_t time_add_sat(int64_t a, int64_t b)
{
	int64_t r;

	if (__builtin_add_overflow(a, b, &r))
		return b > 0 ? INT64_MAX : INT64_MIN;
	return r;
}

int64_t time_mul_sat(int64_t a, int64_t b)
{
	int64_t r;

	if (__builtin_mul_overflow(a, b, &r))
		return (a < 0) != (b < 0) ? INT64_MIN : INT64_MAX;
	return r;
}

/* 1 when s[0..n) are all ASCII digits: strptime also takes a sign, a
 * space or fewer digits, which RFC 3339 does not. */
static int digits_at(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

int time_parse_rfc3339(const char *s, int64_t *ms_out)
{
	struct tm tm;
	const char *p;
	int64_t ms = 0, secs, off = 0;
	int digits = 0;

	memset(&tm, 0, sizeof(tm));
	if (!digits_at(s, 4) || s[4] != '-' || !digits_at(s + 5, 2) || s[7] != '-' || !digits_at(s + 8, 2))
		return CU_EINVAL;
	p = strptime(s, "%Y-%m-%d", &tm);
	if (!p || p - s != 10)
		return CU_EINVAL;
	/* strptime takes any day 1..31 in any month; timegm would then roll
	 * 02-30 over into March. */
	if (!time_date_valid((int64_t)tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday))
		return CU_EINVAL;
	if (*p == '\0')
		goto done;
	if (*p != 'T' && *p != 't' && *p != ' ')
		return CU_EINVAL;
	s = p + 1;
	if (!digits_at(s, 2) || s[2] != ':' || !digits_at(s + 3, 2) || s[5] != ':' || !digits_at(s + 6, 2))
		return CU_EINVAL;
	p = strptime(s, "%H:%M:%S", &tm);
	if (!p || p - s != 8)
		return CU_EINVAL;
	if (*p == '.') {
		p++;
		while (isdigit((unsigned char)*p)) {
			if (digits < 3) {
				ms = ms * 10 + (*p - '0');
				digits++;
			}
			p++;
		}
		if (digits == 0)
			return CU_EINVAL;
		while (digits < 3) {
			ms *= 10;
			digits++;
		}
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int hh, mm, n = 0;
		if (sscanf(p + 1, "%2d:%2d%n", &hh, &mm, &n) != 2 || n != 5 || hh > 23 || mm > 59)
			return CU_EINVAL;
		off = (int64_t)(hh * 60 + mm) * 60;
		if (*p == '-')
			off = -off;
		p += 6;
	} else {
		return CU_EINVAL;
	}
	if (*p != '\0')
		return CU_EINVAL;
done:
	if (tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 59)
		return CU_EINVAL;
	secs = (int64_t)timegm(&tm);
	*ms_out = (secs - off) * 1000 + ms;
	return 0;
}

void time_format_rfc3339(int64_t ms, char *out, size_t outlen)
{
	time_t secs = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
	int frac = (int)(ms - (int64_t)secs * 1000);
	struct tm tm;

	gmtime_r(&secs, &tm);
	snprintf(out, outlen, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}
