/* test_api_pace.c - pacing of messenger ingest on the search index: free
 * below a quarter of the bound, refused above it, and in between admitted
 * at the rate the index has shown, so that a pause of the index does not
 * stop ingest at once. Time is simulated. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "api/pace.h"

#define MS 1000000ull
#define MAX_LAG 20000u

/* A simulated daemon: the index processes index_rate records/s while it
 * has work; the committer asks every millisecond and commits batch
 * records when admitted. */
struct sim {
	struct pace p;
	uint64_t now, size, done;
	double index_rate, carry;
	uint64_t admitted;
};

static void sim_ms(struct sim *s, unsigned ms, unsigned batch, int index_paused)
{
	unsigned i;

	for (i = 0; i < ms; i++) {
		s->now += MS;
		if (!index_paused) {
			s->carry += s->index_rate / 1000.0;
			while (s->carry >= 1 && s->done < s->size) {
				s->done++;
				s->carry -= 1;
			}
			if (s->done == s->size)
				s->carry = 0;
		}
		if (pace_admit(&s->p, s->now, s->done, s->size, MAX_LAG)) {
			s->size += batch;
			s->admitted += batch;
			pace_charge(&s->p, batch);
		}
	}
}

/* A 40k/s index, and three seconds of ingest offered far faster than it
 * (800 records a millisecond), so that the pacing has learnt its rate. */
static void sim_warm(struct sim *s)
{
	memset(s, 0, sizeof(*s));
	s->now = 1000 * MS;
	s->index_rate = 40000;
	sim_ms(s, 3000, 800, 0);
}

static void test_free_below_soft_mark(void **state)
{
	struct pace p;
	uint64_t t = 1000 * MS;
	unsigned i;

	(void)state;
	memset(&p, 0, sizeof(p));
	for (i = 0; i < 100; i++, t += MS) {
		assert_int_equal(pace_admit(&p, t, 1000, 1000 + MAX_LAG / 4, MAX_LAG), 1);
		pace_charge(&p, 800);
	}
	assert_true(p.tokens >= 0); /* unpaced commits owe nothing */
	assert_true(p.rate == 0);   /* an index with little work says nothing of its speed */
}

static void test_refused_above_bound(void **state)
{
	struct pace p;

	(void)state;
	memset(&p, 0, sizeof(p));
	assert_int_equal(pace_admit(&p, MS, 0, MAX_LAG + 1, MAX_LAG), 0);
	assert_int_equal(pace_admit(&p, 2 * MS, 1, MAX_LAG + 1, MAX_LAG), 1);
}

static void test_paced_at_index_rate(void **state)
{
	struct sim s;
	uint64_t before;

	(void)state;
	sim_warm(&s);
	assert_true(s.p.rate > 36000 && s.p.rate < 44000);
	before = s.admitted;
	sim_ms(&s, 2000, 800, 0);
	/* Two seconds at about 0.95 of the index's rate, not 800/ms. */
	assert_true(s.admitted - before > 2 * 34000);
	assert_true(s.admitted - before < 2 * 42000);
	assert_true(s.size - s.done <= MAX_LAG + 800);
}

static void test_index_pause_absorbed(void **state)
{
	struct sim s;
	uint64_t before;

	(void)state;
	sim_warm(&s);
	/* The index pauses 150 ms (a transaction commit): paced ingest goes
	 * on at its rate from the room left below the bound. */
	before = s.admitted;
	sim_ms(&s, 150, 800, 1);
	assert_true(s.admitted - before >= 4000);
	assert_true(s.size - s.done <= MAX_LAG + 800);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_free_below_soft_mark),
		cmocka_unit_test(test_refused_above_bound),
		cmocka_unit_test(test_paced_at_index_rate),
		cmocka_unit_test(test_index_pause_absorbed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
