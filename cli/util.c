/* util.c - helpers shared by the commands. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/timeutil.h"

const char *cli_datadir(const char *opt)
{
	const char *env;

	if (opt && *opt)
		return opt;
	env = getenv("CUSTOS_DATA");
	if (env && *env)
		return env;
	return "./data";
}

int cli_parse_u64(const char *s, uint64_t *out)
{
	char *end;

	if (!s || !*s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return *end || errno ? -1 : 0;
}

void cli_print_json(const json_t *j)
{
	char *t = json_dumps(j, JSON_INDENT(2) | JSON_ENSURE_ASCII);

	if (t)
		printf("%s\n", t);
	free(t);
}

int cli_fail(const char *cmd, const struct cu_err *err)
{
	fprintf(stderr, "custos %s: %s\n", cmd, err && err->msg[0] ? err->msg : "failed");
	return EXIT_FAIL;
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "custos %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_USAGE;
}

int cli_progress_enabled(void)
{
	return isatty(STDERR_FILENO);
}

static uint64_t last_draw_ns;
static int drawn;

void cli_progress(const char *what, unsigned long long done, unsigned long long total)
{
	uint64_t now;

	if (!cli_progress_enabled())
		return;
	now = time_mono_ns();
	if (drawn && now - last_draw_ns < 100000000ull && done != total)
		return;
	last_draw_ns = now;
	drawn = 1;
	if (total)
		fprintf(stderr, "\r%s: %llu/%llu (%llu%%)  ", what, done, total,
			done * 100 / total);
	else
		fprintf(stderr, "\r%s: %llu  ", what, done);
}

void cli_progress_done(void)
{
	if (drawn && cli_progress_enabled())
		fputc('\n', stderr);
	drawn = 0;
}

void cli_print_derived(const json_t *order)
{
	const json_t *dv = json_object_get(order, "derived");
	const json_t *rl = json_object_get(json_object_get(order, "related"), "records");
	size_t i;

	for (i = 0; i < json_array_size(dv); i++) {
		const json_t *x = json_array_get(dv, i);

		printf("  also record %lld (%s; derived from record %lld)\n",
		       (long long)json_integer_value(json_object_get(x, "seq")),
		       json_string_value(json_object_get(x, "relation")),
		       (long long)json_integer_value(json_object_get(x, "from")));
	}
	for (i = 0; i < json_array_size(rl); i++) {
		const json_t *x = json_array_get(rl, i);

		printf("  kept record %lld (%s; related to record %lld)\n",
		       (long long)json_integer_value(json_object_get(x, "seq")),
		       json_string_value(json_object_get(x, "relation")),
		       (long long)json_integer_value(json_object_get(x, "to")));
	}
}
