/* cmd_policy.c - `custos policy add|list|retire`: retention policies
 * (docs/RETENTION.md "Policies").
 *
 *   custos policy add -d DIR --name NAME [--platform P]
 *       [--conversation ID]... [--conversation-pattern GLOB]...
 *       [--sender ID]... [--sender-pattern GLOB]... [--class LABEL] --keep DURATION
 *       --action destroy|transfer|review [--approval required|none] [--by NAME]
 *   custos policy list -d DIR [--all] [--json]
 *   custos policy retire -d DIR NAME [--by NAME]
 *
 * --by names the person (default: $CUSTOS_USER, else the login name); every
 * change is a record in the log naming them. A change that can lead to
 * deletion sooner (approval none, retiring, ...) is only proposed here:
 * another person approves it with `custos retention approve`.
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
#include "cli/scope_opts.h"
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
	fprintf(f, "usage: custos policy add [-d DIR] --name NAME [--platform P]\n"
		   "           [--conversation ID]... [--conversation-pattern GLOB]...\n"
		   "           [--sender ID]... [--sender-pattern GLOB]... [--class LABEL] --keep DURATION\n"
		   "           --action destroy|transfer|review [--approval required|none] [--by NAME] [--json]\n"
		   "       custos policy list [-d DIR] [--all] [--json]\n"
		   "       custos policy retire [-d DIR] NAME [--by NAME] [--json]\n"
		   "DURATION: a number and d, w, m or y (30d, 6m, 10y), counted from each message's time.\n"
		   "ID is an exact id (compared byte for byte); GLOB a shell pattern (*, ?, [...]).\n");
}

static void print_change(const char *what, const struct ret_change *c, int with_records, int json)
{
	if (json) {
		json_t *j = json_pack("{s:I, s:b, s:I}", "seq", (json_int_t)c->seq, "pending", c->pending, "shortened",
				      (json_int_t)c->shortened);
		if (j && c->pending)
			json_object_set_new(j, "plan", json_integer((json_int_t)c->seq));
		if (j && c->why)
			json_object_set_new(j, "why", json_string(c->why));
		if (j && with_records)
			json_object_set_new(j, "records", json_integer((json_int_t)c->records));
		cli_print_json(j);
		json_decref(j);
		return;
	}
	if (c->pending)
		printf("%s: proposed as change plan %llu, not in force yet: %s\n"
		       "(%llu archived records would become deletable sooner). It takes effect once another\n"
		       "person approves it: custos retention approve %llu --by NAME\n",
		       what, (unsigned long long)c->seq, c->why ? c->why : "", (unsigned long long)c->shortened,
		       (unsigned long long)c->seq);
	else if (with_records)
		printf("%s (record %llu); its criteria match %llu archived records now\n", what,
		       (unsigned long long)c->seq, (unsigned long long)c->records);
	else
		printf("%s (record %llu)\n", what, (unsigned long long)c->seq);
}

static void print_policy(const json_t *p)
{
	char when[40];

	time_format_rfc3339(json_integer_value(json_object_get(p, "since")), when, sizeof(when));
	printf("%-20s keep %-5s then %-8s approval %-8s %s", json_string_value(json_object_get(p, "name")),
	       json_string_value(json_object_get(p, "keep")), json_string_value(json_object_get(p, "action")),
	       json_string_value(json_object_get(p, "approval")), json_string_value(json_object_get(p, "status")));
	if (json_string_value(json_object_get(p, "platform")))
		printf(" platform=%s", json_string_value(json_object_get(p, "platform")));
	scope_opts_print(p);
	if (json_string_value(json_object_get(p, "class")))
		printf(" class=%s", json_string_value(json_object_get(p, "class")));
	printf("  %lld records  (by %s, %s)\n", (long long)json_integer_value(json_object_get(p, "records")),
	       json_string_value(json_object_get(p, "by")), when);
}

int cmd_policy(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"name", required_argument, NULL, 'n'},
		{"platform", required_argument, NULL, 'P'},
		SCOPE_LONG_OPTS,
		{"class", required_argument, NULL, 'C'},
		{"keep", required_argument, NULL, 'k'},
		{"action", required_argument, NULL, 'a'},
		{"approval", required_argument, NULL, 'A'},
		{"by", required_argument, NULL, 'b'},
		{"all", no_argument, NULL, 'l'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	static struct scope_opts so; /* 32 KiB: not on the stack */
	struct ret_policy_spec spec;
	struct ret_change ch;
	const char *dir = NULL, *by = NULL, *keep = NULL, *action = NULL, *approval = NULL, *sub;
	struct store *st = NULL;
	struct cu_err err;
	json_t *j = NULL;
	int c, json = 0, all = 0, rc = EXIT_FAIL;
	size_t i;

	cu_err_clear(&err);
	memset(&spec, 0, sizeof(spec));
	memset(&so, 0, sizeof(so));
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	sub = argv[1];
	optind = 1;
	while ((c = getopt_long(argc - 1, argv + 1, "d:h", opts, NULL)) != -1) {
		switch (scope_opts_take(&so, c, optarg, "policy")) {
		case 1: continue;
		case -1: return EXIT_USAGE;
		default: break;
		}
		switch (c) {
		case 'd': dir = optarg; break;
		case 'n': spec.name = optarg; break;
		case 'P': spec.platform = optarg; break;
		case 'C': spec.class_label = optarg; break;
		case 'k': keep = optarg; break;
		case 'a': action = optarg; break;
		case 'A': approval = optarg; break;
		case 'b': by = optarg; break;
		case 'l': all = 1; break;
		case 'j': json = 1; break;
		case 'h': usage(stdout); return EXIT_OK;
		default: return EXIT_USAGE;
		}
	}
	argc--;
	argv++;
	if (!strcmp(sub, "add")) {
		if (optind != argc)
			return cli_usage("policy", "unexpected argument '%s'", argv[optind]);
		if (!spec.name || !keep || !action)
			return cli_usage("policy", "add needs --name, --keep and --action");
		if (ret_duration_parse(keep, &spec.keep, &err) != 0)
			return cli_usage("policy", "%s", err.msg);
		spec.action = ret_action_from_name(action);
		if (!spec.action)
			return cli_usage("policy", "--action must be destroy, transfer or review");
		if (approval && strcmp(approval, "required") != 0 && strcmp(approval, "none") != 0)
			return cli_usage("policy", "--approval must be required or none");
		spec.approval_required = !approval || !strcmp(approval, "required");
		scope_opts_get(&so, &spec.scope);
		if (!person(by))
			return cli_usage("policy", "name the person with --by");
	} else if (!strcmp(sub, "retire")) {
		if (optind + 1 != argc)
			return cli_usage("policy", "retire needs the policy NAME");
		if (!person(by))
			return cli_usage("policy", "name the person with --by");
	} else if (!strcmp(sub, "list")) {
		if (optind != argc)
			return cli_usage("policy", "unexpected argument '%s'", argv[optind]);
	} else {
		return cli_usage("policy", "unknown subcommand '%s' (add, list, retire)", sub);
	}
	if (store_open(cli_datadir(dir), NULL, strcmp(sub, "list") ? 0 : STORE_RDONLY, &st, &err) != 0)
		return cli_fail("policy", &err);
	if (!strcmp(sub, "add")) {
		if (ret_policy_add(st, &spec, person(by), time_now_ms(), &ch, &err) != 0)
			goto fail;
		print_change("policy added", &ch, 1, json);
		scope_opts_report("policy", spec.name, ch.records, &spec.scope, 0);
	} else if (!strcmp(sub, "retire")) {
		if (ret_policy_retire(st, argv[optind], person(by), time_now_ms(), &ch, &err) != 0)
			goto fail;
		print_change("retiring the policy", &ch, 0, json);
	} else {
		json_t *arr, *pend;

		if (ret_policies_json(st, all, &j, &err) != 0)
			goto fail;
		if (json) {
			cli_print_json(j);
		} else {
			arr = json_object_get(j, "policies");
			pend = json_object_get(j, "pending_changes");
			if (!json_array_size(arr))
				printf("no policies: every record is kept\n");
			for (i = 0; i < json_array_size(arr); i++)
				print_policy(json_array_get(arr, i));
			for (i = 0; i < json_array_size(pend); i++) {
				json_t *p = json_array_get(pend, i);
				char *t = json_dumps(json_object_get(p, "change"), JSON_COMPACT);
				printf("awaiting another person's approval: plan %lld by %s: %s (%s)\n",
				       (long long)json_integer_value(json_object_get(p, "plan")),
				       json_string_value(json_object_get(p, "by")), t ? t : "?",
				       json_string_value(json_object_get(p, "why")) ?
				       json_string_value(json_object_get(p, "why")) : "");
				free(t);
			}
		}
	}
	rc = EXIT_OK;
	goto out;
fail:
	rc = err.code == CU_EINVAL ? (cli_fail("policy", &err), EXIT_USAGE) : cli_fail("policy", &err);
out:
	json_decref(j);
	store_close(st);
	return rc;
}
