/* cmd_hold.c - `custos hold add|list|show|release`: legal holds
 * (docs/RETENTION.md "Legal holds").
 *
 *   custos hold add -d DIR --matter CASE --reason TEXT --by NAME
 *       [--conversation ID]... [--conversation-pattern GLOB]...
 *       [--sender ID]... [--sender-pattern GLOB]... [--from DATE] [--to DATE]
 *       [--query Q] [--all]        prints the hold id; the count it covers on stderr
 *   custos hold list -d DIR [--all] [--json]
 *   custos hold show -d DIR ID [--limit N] [--json]
 *   custos hold release -d DIR ID --by NAME --reason TEXT
 *       proposes the release: another person approves it
 *       (custos retention approve PLAN --by OTHER) before the hold ends
 *
 * DATE is YYYY-MM-DD or RFC 3339. A date alone in --to covers that whole
 * day (the bound is the next midnight, UTC).
 */
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archiver/store.h"
#include "cli/cli.h"
#include "cli/scope_opts.h"
#include "common/timeutil.h"
#include "retention/retention.h"
#include "search/index.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: custos hold add [-d DIR] --matter CASE --reason TEXT --by NAME\n"
		   "           [--conversation ID]... [--conversation-pattern GLOB]...\n"
		   "           [--sender ID]... [--sender-pattern GLOB]... [--from DATE] [--to DATE] [--query Q] [--all]\n"
		   "       custos hold list [-d DIR] [--all] [--json]\n"
		   "       custos hold show [-d DIR] ID [--limit N] [--json]\n"
		   "       custos hold release [-d DIR] ID --by NAME --reason TEXT\n"
		   "ID is an exact id (compared byte for byte); GLOB a shell pattern (*, ?, [...]);\n"
		   "DATE is YYYY-MM-DD or RFC 3339. A release takes effect once another person approves it.\n");
}

static void print_scope(const json_t *sc)
{
	char when[40];

	if (json_is_true(json_object_get(sc, "all")))
		printf(" the whole archive");
	scope_opts_print(sc);
	if (json_is_integer(json_object_get(sc, "from"))) {
		time_format_rfc3339(json_integer_value(json_object_get(sc, "from")), when, sizeof(when));
		printf(" from=%s", when);
	}
	if (json_is_integer(json_object_get(sc, "to"))) {
		time_format_rfc3339(json_integer_value(json_object_get(sc, "to")), when, sizeof(when));
		printf(" before=%s", when);
	}
	if (json_string_value(json_object_get(sc, "query")))
		printf(" query=\"%s\"", json_string_value(json_object_get(sc, "query")));
}

static void print_hold(const json_t *h)
{
	char when[40];

	time_format_rfc3339(json_integer_value(json_object_get(h, "placed_at")), when, sizeof(when));
	printf("hold %lld  %s  matter %s  by %s, %s\n  scope:", (long long)json_integer_value(json_object_get(h, "id")),
	       json_string_value(json_object_get(h, "status")), json_string_value(json_object_get(h, "matter")),
	       json_string_value(json_object_get(h, "by")), when);
	print_scope(json_object_get(h, "scope"));
	printf("\n  reason: %s\n", json_string_value(json_object_get(h, "reason")) ?
				  json_string_value(json_object_get(h, "reason")) : "");
	printf("  covers %lld records now\n", (long long)json_integer_value(json_object_get(h, "records")));
	if (json_string_value(json_object_get(h, "released_by"))) {
		time_format_rfc3339(json_integer_value(json_object_get(h, "released_at")), when, sizeof(when));
		printf("  released by %s, %s\n", json_string_value(json_object_get(h, "released_by")), when);
	}
	if (json_object_get(h, "release_pending"))
		printf("  release proposed by %s (plan %lld), awaiting another person's approval\n",
		       json_string_value(json_object_get(json_object_get(h, "release_pending"), "by")),
		       (long long)json_integer_value(json_object_get(json_object_get(h, "release_pending"), "plan")));
}

int cmd_hold(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"matter", required_argument, NULL, 'm'},
		{"reason", required_argument, NULL, 'r'},
		{"by", required_argument, NULL, 'b'},
		SCOPE_LONG_OPTS,
		{"from", required_argument, NULL, 'f'},
		{"to", required_argument, NULL, 't'},
		{"query", required_argument, NULL, 'q'},
		{"all", no_argument, NULL, 'a'},
		{"limit", required_argument, NULL, 'n'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	static struct scope_opts so; /* 32 KiB: not on the stack */
	const char *dir = NULL, *by = NULL, *sub;
	struct ret_hold_spec spec;
	struct ret_change ch;
	struct store *st = NULL;
	struct cu_err err;
	json_t *j = NULL;
	uint64_t id = 0, limit = 100, records = 0;
	char idtext[24];
	int c, json = 0, all = 0, date_only, rc = EXIT_FAIL;
	size_t i;

	cu_err_clear(&err);
	memset(&spec, 0, sizeof(spec));
	spec.from_ms = INT64_MIN;
	spec.to_ms = INT64_MAX;
	memset(&so, 0, sizeof(so));
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	sub = argv[1];
	optind = 1;
	while ((c = getopt_long(argc - 1, argv + 1, "d:h", opts, NULL)) != -1) {
		switch (scope_opts_take(&so, c, optarg, "hold")) {
		case 1: continue;
		case -1: return EXIT_USAGE;
		default: break;
		}
		switch (c) {
		case 'd': dir = optarg; break;
		case 'm': spec.matter = optarg; break;
		case 'r': spec.reason = optarg; break;
		case 'b': by = optarg; break;
		case 'f':
			if (ret_parse_date(optarg, &spec.from_ms, NULL, &err) != 0)
				return cli_usage("hold", "--from: %s", err.msg);
			break;
		case 't':
			if (ret_parse_date(optarg, &spec.to_ms, &date_only, &err) != 0)
				return cli_usage("hold", "--to: %s", err.msg);
			if (date_only)
				spec.to_ms += 86400000; /* the whole day */
			break;
		case 'q': spec.query = optarg; break;
		case 'a': all = 1; break;
		case 'n':
			if (cli_parse_u64(optarg, &limit) != 0)
				return cli_usage("hold", "--limit needs a number");
			break;
		case 'j': json = 1; break;
		case 'h': usage(stdout); return EXIT_OK;
		default: return EXIT_USAGE;
		}
	}
	argc--;
	argv++;
	if (!strcmp(sub, "add")) {
		if (optind != argc)
			return cli_usage("hold", "unexpected argument '%s'", argv[optind]);
		if (!spec.matter || !spec.reason || !by)
			return cli_usage("hold", "add needs --matter, --reason and --by");
		spec.all = all;
		scope_opts_get(&so, &spec.scope);
	} else if (!strcmp(sub, "show") || !strcmp(sub, "release")) {
		if (optind + 1 != argc || cli_parse_u64(argv[optind], &id) != 0)
			return cli_usage("hold", "%s needs the hold ID (a number)", sub);
		if (!strcmp(sub, "release") && (!by || !spec.reason))
			return cli_usage("hold", "release needs --by and --reason");
	} else if (!strcmp(sub, "list")) {
		if (optind != argc)
			return cli_usage("hold", "unexpected argument '%s'", argv[optind]);
	} else {
		return cli_usage("hold", "unknown subcommand '%s' (add, list, show, release)", sub);
	}
	/* list and show only read the log (show brings the index up to it
	 * for a query hold, which needs no writer lock on the archive) */
	if (store_open(cli_datadir(dir), NULL, !strcmp(sub, "list") || !strcmp(sub, "show") ? STORE_RDONLY : 0,
		       &st, &err) != 0)
		return cli_fail("hold", &err);
	if (!strcmp(sub, "add")) {
		if (ret_hold_add(st, NULL, &spec, by, time_now_ms(), &id, &records, &err) != 0)
			goto fail;
		if (json)
			printf("{\"hold\": %llu, \"records\": %llu}\n", (unsigned long long)id,
			       (unsigned long long)records);
		else
			printf("%llu\n", (unsigned long long)id);
		snprintf(idtext, sizeof(idtext), "%llu", (unsigned long long)id);
		scope_opts_report("hold", idtext, records, &spec.scope, 1);
	} else if (!strcmp(sub, "release")) {
		/* One invocation proposes; the hold ends only when another
		 * person approves (four eyes), a separate act. */
		if (ret_hold_release(st, id, by, spec.reason, time_now_ms(), &ch, &err) != 0)
			goto fail;
		if (json)
			printf("{\"hold\": %llu, \"released\": false, \"pending\": true, \"plan\": %llu}\n",
			       (unsigned long long)id, (unsigned long long)ch.seq);
		else
			printf("release of hold %llu proposed as change plan %llu; the hold stays in force until\n"
			       "another person approves it: custos retention approve %llu --by NAME\n",
			       (unsigned long long)id, (unsigned long long)ch.seq, (unsigned long long)ch.seq);
	} else if (!strcmp(sub, "show")) {
		json_t *seqs;

		if (ret_hold_json(st, NULL, id, (size_t)limit, &j, &err) != 0)
			goto fail;
		if (json) {
			cli_print_json(j);
		} else {
			print_hold(j);
			seqs = json_object_get(j, "seqs");
			printf("  records:");
			for (i = 0; i < json_array_size(seqs); i++)
				printf(" %lld", (long long)json_integer_value(json_array_get(seqs, i)));
			if ((uint64_t)json_integer_value(json_object_get(j, "records")) > json_array_size(seqs))
				printf(" ...");
			printf("\n");
		}
	} else {
		json_t *arr;

		if (ret_holds_json(st, NULL, all, &j, &err) != 0)
			goto fail;
		if (json) {
			cli_print_json(j);
		} else {
			arr = json_object_get(j, "holds");
			if (!json_array_size(arr))
				printf("no %sholds\n", all ? "" : "active ");
			for (i = 0; i < json_array_size(arr); i++)
				print_hold(json_array_get(arr, i));
		}
	}
	rc = EXIT_OK;
	goto out;
fail:
	rc = err.code == CU_EINVAL ? (cli_fail("hold", &err), EXIT_USAGE) : cli_fail("hold", &err);
out:
	json_decref(j);
	store_close(st);
	return rc;
}
