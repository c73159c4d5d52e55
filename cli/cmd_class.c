/* cmd_class.c - `custos class set|unset|list`: labels conversations with a
 * class that policies can match (--class), docs/RETENTION.md "Classes".
 *
 *   custos class set -d DIR CONVERSATION LABEL [--by NAME]
 *   custos class unset -d DIR CONVERSATION [--by NAME]
 *   custos class list -d DIR [--json]
 */
#include <getopt.h>
#include <jansson.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "archiver/store.h"
#include "cli/cli.h"
#include "common/timeutil.h"
#include "retention/retention.h"

static const char *person(const char *opt)
{
	const char *u = getenv("CUSTOS_USER");
	struct passwd *pw;

	if (opt && *opt)
		return opt;
	if (u && *u)
		return u;
	pw = getpwuid(getuid());
	return pw && pw->pw_name ? pw->pw_name : NULL;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: custos class set [-d DIR] CONVERSATION LABEL [--by NAME] [--json]\n"
		   "       custos class unset [-d DIR] CONVERSATION [--by NAME] [--json]\n"
		   "       custos class list [-d DIR] [--json]\n");
}

int cmd_class(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"by", required_argument, NULL, 'b'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = NULL, *by = NULL, *sub;
	struct store *st = NULL;
	struct ret_change ch;
	struct cu_err err;
	json_t *j = NULL;
	char *t;
	size_t i, want;
	int c, json = 0, rc = EXIT_FAIL;

	cu_err_clear(&err);
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	sub = argv[1];
	optind = 1;
	while ((c = getopt_long(argc - 1, argv + 1, "d:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'b': by = optarg; break;
		case 'j': json = 1; break;
		case 'h': usage(stdout); return EXIT_OK;
		default: return EXIT_USAGE;
		}
	}
	argc--;
	argv++;
	if (!strcmp(sub, "set"))
		want = 2;
	else if (!strcmp(sub, "unset"))
		want = 1;
	else if (!strcmp(sub, "list"))
		want = 0;
	else
		return cli_usage("class", "unknown subcommand '%s' (set, unset, list)", sub);
	if ((size_t)(argc - optind) != want)
		return cli_usage("class", "%s takes %s", sub,
				 want == 2 ? "CONVERSATION LABEL" : want == 1 ? "CONVERSATION" : "no arguments");
	if (want && !person(by))
		return cli_usage("class", "name the person with --by");
	if (store_open(cli_datadir(dir), NULL, want ? 0 : STORE_RDONLY, &st, &err) != 0)
		return cli_fail("class", &err);
	if (want) {
		if (ret_class_set(st, argv[optind], want == 2 ? argv[optind + 1] : NULL, person(by), time_now_ms(),
				  &ch, &err) != 0) {
			rc = err.code == CU_EINVAL ? (cli_fail("class", &err), EXIT_USAGE) : cli_fail("class", &err);
			goto out;
		}
		if (json)
			printf("{\"seq\": %llu, \"pending\": %s, \"shortened\": %llu}\n", (unsigned long long)ch.seq,
			       ch.pending ? "true" : "false", (unsigned long long)ch.shortened);
		else if (ch.pending)
			printf("the class change shortens the retention of %llu archived records: stored as change"
			       " plan %llu,\nin force once another person approves it (custos retention approve %llu"
			       " --by NAME)\n", (unsigned long long)ch.shortened, (unsigned long long)ch.seq,
			       (unsigned long long)ch.seq);
		else
			printf("class %s (record %llu)\n", want == 2 ? "set" : "removed", (unsigned long long)ch.seq);
	} else {
		json_t *arr;

		if (ret_classes_json(st, &j, &err) != 0) {
			rc = cli_fail("class", &err);
			goto out;
		}
		if (json) {
			t = json_dumps(j, JSON_INDENT(2) | JSON_ENSURE_ASCII);
			if (t)
				printf("%s\n", t);
			free(t);
		} else {
			arr = json_object_get(j, "classes");
			for (i = 0; i < json_array_size(arr); i++) {
				json_t *x = json_array_get(arr, i);
				printf("%-40s %s  (by %s)\n", json_string_value(json_object_get(x, "conversation")),
				       json_string_value(json_object_get(x, "class")),
				       json_string_value(json_object_get(x, "by")));
			}
			arr = json_object_get(j, "pending_changes");
			for (i = 0; i < json_array_size(arr); i++) {
				json_t *x = json_array_get(arr, i);
				t = json_dumps(json_object_get(x, "change"), JSON_COMPACT);
				printf("awaiting approval: plan %lld: %s\n",
				       (long long)json_integer_value(json_object_get(x, "plan")), t ? t : "?");
				free(t);
			}
		}
	}
	rc = EXIT_OK;
out:
	json_decref(j);
	store_close(st);
	return rc;
}
