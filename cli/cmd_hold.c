/* cmd_hold.c - `custos hold add|list|show|release`: legal holds
 * (docs/RETENTION.md "Legal holds").
 *
 *   custos hold add -d DIR --matter CASE --reason TEXT --by NAME
 *       [--conversation C]... [--sender S]... [--from DATE] [--to DATE]
 *       [--query Q] [--all]                       prints the hold id
 *   custos hold list -d DIR [--all] [--json]
 *   custos hold show -d DIR ID [--limit N] [--json]
 *   custos hold release -d DIR ID --by NAME [--reason TEXT]
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
#include "common/timeutil.h"
#include "retention/ret.h"
#include "search/index.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: custos hold add [-d DIR] --matter CASE --reason TEXT --by NAME\n"
		   "           [--conversation C]... [--sender S]... [--from DATE] [--to DATE] [--query Q] [--all]\n"
		   "       custos hold list [-d DIR] [--all] [--json]\n"
		   "       custos hold show [-d DIR] ID [--limit N] [--json]\n"
		   "       custos hold release [-d DIR] ID --by NAME [--reason TEXT]\n"
		   "C and S may be exact ids or shell patterns (*, ?); DATE is YYYY-MM-DD or RFC 3339.\n");
}

static void print_scope(const json_t *sc)
{
	const json_t *v;
	char when[40];
	size_t i;

	if (json_is_true(json_object_get(sc, "all")))
		printf(" the whole archive");
	v = json_object_get(sc, "conversations");
	for (i = 0; i < json_array_size(v); i++)
		printf(" conversation=%s", json_string_value(json_array_get(v, i)));
	v = json_object_get(sc, "senders");
	for (i = 0; i < json_array_size(v); i++)
		printf(" sender=%s", json_string_value(json_array_get(v, i)));
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
	if (json_string_value(json_object_get(h, "released_by"))) {
		time_format_rfc3339(json_integer_value(json_object_get(h, "released_at")), when, sizeof(when));
		printf("  released by %s, %s\n", json_string_value(json_object_get(h, "released_by")), when);
	}
}

#define MAX_SCOPE 256

int cmd_hold(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"matter", required_argument, NULL, 'm'},
		{"reason", required_argument, NULL, 'r'},
		{"by", required_argument, NULL, 'b'},
		{"conversation", required_argument, NULL, 'c'},
		{"sender", required_argument, NULL, 's'},
		{"from", required_argument, NULL, 'f'},
		{"to", required_argument, NULL, 't'},
		{"query", required_argument, NULL, 'q'},
		{"all", no_argument, NULL, 'a'},
		{"limit", required_argument, NULL, 'n'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *convs[MAX_SCOPE], *senders[MAX_SCOPE];
	const char *dir = NULL, *by = NULL, *sub;
	struct ret_hold_spec spec;
	struct store *st = NULL;
	struct cu_err err;
	json_t *j = NULL;
	uint64_t id = 0, limit = 100;
	int c, json = 0, all = 0, date_only, rc = EXIT_FAIL;
	size_t i;

	cu_err_clear(&err);
	memset(&spec, 0, sizeof(spec));
	spec.from_ms = INT64_MIN;
	spec.to_ms = INT64_MAX;
	spec.conversations = convs;
	spec.senders = senders;
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	sub = argv[1];
	optind = 1;
	while ((c = getopt_long(argc - 1, argv + 1, "d:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'm': spec.matter = optarg; break;
		case 'r': spec.reason = optarg; break;
		case 'b': by = optarg; break;
		case 'c':
			if (spec.nconversations == MAX_SCOPE)
				return cli_usage("hold", "at most %d --conversation", MAX_SCOPE);
			convs[spec.nconversations++] = optarg;
			break;
		case 's':
			if (spec.nsenders == MAX_SCOPE)
				return cli_usage("hold", "at most %d --sender", MAX_SCOPE);
			senders[spec.nsenders++] = optarg;
			break;
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
	} else if (!strcmp(sub, "show") || !strcmp(sub, "release")) {
		if (optind + 1 != argc || cli_parse_u64(argv[optind], &id) != 0)
			return cli_usage("hold", "%s needs the hold ID (a number)", sub);
		if (!strcmp(sub, "release") && !by)
			return cli_usage("hold", "release needs --by");
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
		if (ret_hold_add(st, NULL, &spec, by, time_now_ms(), &id, &err) != 0)
			goto fail;
		if (json)
			printf("{\"hold\": %llu}\n", (unsigned long long)id);
		else
			printf("%llu\n", (unsigned long long)id);
	} else if (!strcmp(sub, "release")) {
		if (ret_hold_release(st, id, by, spec.reason, time_now_ms(), &err) != 0)
			goto fail;
		if (json)
			printf("{\"hold\": %llu, \"released\": true}\n", (unsigned long long)id);
		else
			printf("hold %llu released\n", (unsigned long long)id);
	} else if (!strcmp(sub, "show")) {
		json_t *seqs;

		if (ret_hold_json(st, NULL, id, (size_t)limit, &j, &err) != 0)
			goto fail;
		if (json) {
			cli_print_json(j);
		} else {
			print_hold(j);
			seqs = json_object_get(j, "seqs");
			printf("  covers %lld records now", (long long)json_integer_value(json_object_get(j, "records")));
			for (i = 0; i < json_array_size(seqs); i++)
				printf("%s%lld", i ? " " : ": ", (long long)json_integer_value(json_array_get(seqs, i)));
			if ((uint64_t)json_integer_value(json_object_get(j, "records")) > json_array_size(seqs))
				printf(" ...");
			printf("\n");
		}
	} else {
		json_t *arr;

		if (ret_holds_json(st, all, &j, &err) != 0)
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
