/* test_timeutil.c - dates the calendar does not have are refused, never
 * rolled over (2024-02-30 is not March 1st), at every edge: Feb 29 in
 * leap and common years (1900, 2000, 2100, 2023, 2024), months 00/13,
 * days 00/32, hour 24, minute/second 60 (leap seconds are refused),
 * non-digits; and time arithmetic saturates: a keep period added to a ts
 * near INT64_MAX stays at INT64_MAX (never due) instead of wrapping to a
 * date in the past (due at once). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "common/timeutil.h"
#include "retention/retention.h"

static int64_t ts(const char *s)
{
	int64_t v = 0;

	if (time_parse_rfc3339(s, &v) != 0)
		fail_msg("'%s' should parse", s);
	return v;
}

static void refused(const char *s)
{
	int64_t v = 12345;

	if (time_parse_rfc3339(s, &v) != CU_EINVAL)
		fail_msg("'%s' should be refused, parsed as %lld", s, (long long)v);
}

static void test_calendar_edges(void **state)
{
	(void)state;
	assert_int_equal(time_days_in_month(2024, 2), 29);
	assert_int_equal(time_days_in_month(2023, 2), 28);
	assert_int_equal(time_days_in_month(2000, 2), 29);
	assert_int_equal(time_days_in_month(1900, 2), 28);
	assert_int_equal(time_days_in_month(2100, 2), 28);
	assert_int_equal(time_days_in_month(2024, 0), 0);
	assert_int_equal(time_days_in_month(2024, 13), 0);
	assert_true(time_date_valid(2024, 12, 31));
	assert_false(time_date_valid(2024, 4, 31));
	assert_false(time_date_valid(2024, 1, 0));

	/* Feb 29 only in leap years */
	assert_int_equal(ts("2024-02-29"), 1709164800000LL);
	assert_int_equal(ts("2000-02-29T00:00:00Z"), 951782400000LL);
	refused("2023-02-29");
	refused("1900-02-29");
	refused("2100-02-29");
	refused("2024-02-30");
	refused("2023-02-30T00:00:00Z");
	refused("2024-04-31");
	refused("2024-06-31T12:00:00+02:00");
	/* month and day out of range */
	refused("2024-00-10");
	refused("2024-13-01");
	refused("2024-01-00");
	refused("2024-01-32");
	/* time of day */
	assert_int_equal(ts("2024-12-31T23:59:59.999Z"), ts("2025-01-01") - 1);
	refused("2024-05-01T24:00:00Z");
	refused("2024-05-01T12:60:00Z");
	refused("2016-12-31T23:59:60Z"); /* a leap second: refused (POSIX time has none) */
	refused("2024-05-01T12:00:00+24:00");
	refused("2024-05-01T12:00:00+02:60");
	/* shape: exactly four, two and two digits */
	refused("2024-5-01");
	refused("2024-05-1");
	refused(" 2024-05-01");
	refused("+024-05-01");
	refused("2024-05-01T1:00:00Z");
	refused("2024-05-01T12:00: 0Z");
	refused("2024-05-01x");
	refused("");
	/* offsets are applied */
	assert_int_equal(ts("2024-03-01T01:00:00+02:00"), ts("2024-02-29T23:00:00Z"));
}

static void test_saturation(void **state)
{
	struct ret_duration y10 = {10, 'y'}, d1000 = {1000, 'd'}, w1000 = {1000, 'w'}, m1 = {1, 'm'},
			    y1000 = {1000, 'y'};

	(void)state;
	assert_int_equal(time_add_sat(INT64_MAX, 1), INT64_MAX);
	assert_int_equal(time_add_sat(INT64_MAX - 5, 5), INT64_MAX);
	assert_int_equal(time_add_sat(INT64_MIN, -1), INT64_MIN);
	assert_int_equal(time_add_sat(INT64_MIN, 1), INT64_MIN + 1);
	assert_int_equal(time_add_sat(INT64_MAX, INT64_MIN), -1);
	assert_int_equal(time_mul_sat(INT64_MAX / 2, 3), INT64_MAX);
	assert_int_equal(time_mul_sat(INT64_MIN / 2, 3), INT64_MIN);
	assert_int_equal(time_mul_sat(-(INT64_MAX / 2), -3), INT64_MAX);
	assert_int_equal(time_mul_sat(7, -3), -21);

	/* a keep period after a ts near the end of time is the end of time
	 * (never due), whatever the unit */
	assert_int_equal(ret_duration_add(INT64_MAX, &d1000), INT64_MAX);
	assert_int_equal(ret_duration_add(INT64_MAX, &w1000), INT64_MAX);
	assert_int_equal(ret_duration_add(INT64_MAX, &m1), INT64_MAX);
	assert_int_equal(ret_duration_add(INT64_MAX, &y10), INT64_MAX);
	assert_int_equal(ret_duration_add(INT64_MAX - 86400000LL * 365, &y1000), INT64_MAX);
	assert_true(ret_duration_add(INT64_MAX - 1000, &y10) >= INT64_MAX - 1000);
	/* and near the start of time it neither wraps nor goes backwards */
	assert_true(ret_duration_add(INT64_MIN, &d1000) > INT64_MIN);
	assert_true(ret_duration_add(INT64_MIN + 1000, &y10) > INT64_MIN + 1000);
	assert_true(ret_duration_add(INT64_MIN + 1000, &m1) > INT64_MIN + 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_calendar_edges),
		cmocka_unit_test(test_saturation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
