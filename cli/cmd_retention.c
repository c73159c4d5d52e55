/* cmd_retention.c - `custos retention ...`: disposition and its evidence
 * (docs/RETENTION.md "Disposition").
 *
 *   custos retention plan -d DIR --by NAME [--dry-run] [--json]
 *   custos retention approve -d DIR PLAN --by NAME
 *   custos retention reject -d DIR PLAN --by NAME --reason TEXT
 *   custos retention execute -d DIR PLAN [--by NAME] [--package-dir DIR]
 *       [--respond-within DURATION] [--json]
 *   custos retention certificates -d DIR [--json] [--export ID --out PREFIX]
 *   custos retention plans -d DIR [--json]
 *   custos retention offers -d DIR [--json]
 *   custos retention accept|decline -d DIR OFFER --by NAME
 *   custos retention run -d DIR [--json]     the scheduler's automatic run, once
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archiver/store.h"
#include "cli/cli.h"
#include "common/fileio.h"
#include "common/timeutil.h"
#include "retention/retention.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: custos retention plan [-d DIR] --by NAME [--dry-run] [--json]\n"
		   "       custos retention approve [-d DIR] PLAN --by NAME\n"
		   "       custos retention reject [-d DIR] PLAN --by NAME --reason TEXT\n"
		   "       custos retention execute [-d DIR] PLAN [--by NAME] [--package-dir DIR]\n"
		   "           [--respond-within DURATION] [--json]\n"
		   "       custos retention certificates [-d DIR] [--json] [--export ID --out PREFIX]\n"
		   "       custos retention plans [-d DIR] [--json]\n"
		   "       custos retention offers [-d DIR] [--json]\n"
		   "       custos retention accept|decline [-d DIR] OFFER --by NAME\n"
		   "       custos retention run [-d DIR] [--json]\n");
}

static long long jint(const json_t *o, const char *k)
{
	return (long long)json_integer_value(json_object_get(o, k));
}

static const char *jstr(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "-";
}

static void print_plan(const json_t *j, const char *by)
{
	const json_t *items = json_object_get(j, "items"), *held = json_object_get(j, "held");
	const json_t *list = json_object_get(held, "records");
	char when[40];
	size_t i, k;

	if (json_is_integer(json_object_get(j, "plan")))
		printf("plan %lld: %lld records due\n", jint(j, "plan"), jint(j, "count"));
	else if (json_is_true(json_object_get(j, "dry_run")))
		printf("dry run (nothing stored): %lld records due\n", jint(j, "count"));
	else
		printf("nothing is due: no plan stored\n");
	if (json_array_size(items))
		printf("  %-8s %-24s %-8s %-16s %-24s %s\n", "seq", "sent", "action", "policy", "conversation",
		       "sender");
	for (i = 0; i < json_array_size(items); i++) {
		const json_t *x = json_array_get(items, i);

		time_format_rfc3339(jint(x, "ts"), when, sizeof(when));
		printf("  %-8lld %-24s %-8s %-16s %-24s %s\n", jint(x, "seq"), when, jstr(x, "action"),
		       jstr(x, "policy"), jstr(x, "conversation"), jstr(x, "sender"));
	}
	if (jint(held, "count")) {
		printf("%lld due records are under legal hold and stay:", jint(held, "count"));
		for (i = 0; i < json_array_size(list); i++) {
			const json_t *h = json_object_get(json_array_get(list, i), "holds");
			printf(" %lld (hold", jint(json_array_get(list, i), "seq"));
			for (k = 0; k < json_array_size(h); k++)
				printf(" %lld", (long long)json_integer_value(json_array_get(h, k)));
			printf(")");
		}
		printf("\n");
	}
	if (jint(json_object_get(j, "review"), "count"))
		printf("%lld due records need a review decision (policy action review); they are not in the plan\n",
		       jint(json_object_get(j, "review"), "count"));
	if (jint(json_object_get(j, "awaiting_transfer_answer"), "count"))
		printf("%lld due records wait for the public archive's answer to a transfer offer\n",
		       jint(json_object_get(j, "awaiting_transfer_answer"), "count"));
	if (json_is_true(json_object_get(j, "truncated")))
		printf("more records are due than one plan holds: plan again after executing this one\n");
	if (json_is_integer(json_object_get(j, "plan")))
		printf("next: a person other than %s approves it: custos retention approve %lld --by NAME\n", by,
		       jint(j, "plan"));
}

static void print_exec(const json_t *j)
{
	const json_t *sk = json_object_get(j, "skipped");
	size_t i;

	printf("plan %lld (%s) executed%s\n", jint(j, "plan"), jstr(j, "type"),
	       json_is_true(json_object_get(j, "resumed")) ? " (resumed: finishing an interrupted run)" : "");
	if (json_is_integer(json_object_get(j, "certificate")))
		printf("  deletion certificate %lld: %lld records deleted (%lld rewritten now)\n", jint(j, "certificate"),
		       jint(j, "records"), jint(j, "erased_now"));
	if (json_is_integer(json_object_get(j, "offer")) && jint(j, "offered"))
		printf("  transfer offer %lld: %lld records offered to the public archive\n", jint(j, "offer"),
		       jint(j, "offered"));
	for (i = 0; i < json_array_size(json_object_get(j, "packages_removed")); i++)
		printf("  package removed (it held deleted records): %s\n",
		       json_string_value(json_array_get(json_object_get(j, "packages_removed"), i)));
	if (jint(json_object_get(sk, "held"), "count") || jint(json_object_get(sk, "not_due"), "count") ||
	    jint(json_object_get(sk, "already_deleted"), "count"))
		printf("  kept: %lld under legal hold placed since the plan, %lld no longer due; %lld deleted before\n",
		       jint(json_object_get(sk, "held"), "count"), jint(json_object_get(sk, "not_due"), "count"),
		       jint(json_object_get(sk, "already_deleted"), "count"));
	if (json_string_value(json_object_get(j, "warning")))
		printf("  warning: %s\n", jstr(j, "warning"));
}

static void print_certs(const json_t *j)
{
	const json_t *arr = json_object_get(j, "certificates");
	char t1[40], t2[40];
	size_t i, g, k;

	if (!json_array_size(arr))
		printf("no deletion certificates\n");
	for (i = 0; i < json_array_size(arr); i++) {
		const json_t *x = json_array_get(arr, i), *c = json_object_get(x, "certificate");
		const json_t *groups = json_object_get(c, "groups");

		time_format_rfc3339(jint(c, "planned_at"), t1, sizeof(t1));
		time_format_rfc3339(jint(c, "executed_at"), t2, sizeof(t2));
		printf("certificate %lld  plan %lld (%s)  %lld records  signature %s\n", jint(x, "id"), jint(c, "plan"),
		       jstr(c, "type"), jint(c, "count"),
		       json_is_true(json_object_get(x, "signature_valid")) ? "valid" : "INVALID");
		printf("  planned by %s %s; %s%s; executed %s\n", jstr(c, "planned_by"), t1,
		       json_is_true(json_object_get(c, "automatic")) ? "automatic (approval none)" : "approved by ",
		       json_is_true(json_object_get(c, "automatic")) ? "" : jstr(c, "approved_by"), t2);
		if (json_object_get(c, "order"))
			printf("  order: %s\n", jstr(json_object_get(c, "order"), "reason"));
		for (g = 0; g < json_array_size(groups); g++) {
			const json_t *gr = json_array_get(groups, g), *seqs = json_object_get(gr, "seqs");

			if (json_string_value(json_object_get(gr, "policy")))
				printf("  policy %s (keep %s)%s:", jstr(gr, "policy"), jstr(gr, "keep"),
				       json_is_integer(json_object_get(gr, "offer")) ? " after transfer offer" : "");
			else
				printf("  %s:", jstr(gr, "basis"));
			for (k = 0; k < json_array_size(seqs); k++)
				printf(" %lld", (long long)json_integer_value(json_array_get(seqs, k)));
			printf("\n");
		}
	}
}

static void print_plans(const json_t *j)
{
	const json_t *arr = json_object_get(j, "plans");
	char when[40];
	size_t i;

	if (!json_array_size(arr))
		printf("no plans\n");
	for (i = 0; i < json_array_size(arr); i++) {
		const json_t *p = json_array_get(arr, i);

		time_format_rfc3339(jint(p, "at"), when, sizeof(when));
		printf("plan %-6lld %-11s %-17s %6lld records  by %s %s", jint(p, "id"), jstr(p, "type"),
		       jstr(p, "status"), jint(p, "count"), jstr(p, "by"), when);
		if (json_string_value(json_object_get(p, "approved_by")))
			printf("  approved by %s", jstr(p, "approved_by"));
		if (json_string_value(json_object_get(p, "rejected_by")))
			printf("  rejected by %s", jstr(p, "rejected_by"));
		if (json_object_get(p, "change")) {
			char *t = json_dumps(json_object_get(p, "change"), JSON_COMPACT);
			printf("  change %s", t ? t : "?");
			free(t);
		}
		if (json_is_integer(json_object_get(p, "certificate")))
			printf("  certificate %lld", jint(p, "certificate"));
		printf("\n");
		if (!strcmp(jstr(p, "type"), "erasure"))
			cli_print_derived(p); /* what an approver approves */
	}
}

static void print_offers(const json_t *j)
{
	const json_t *arr = json_object_get(j, "offers");
	char when[40];
	size_t i;

	if (!json_array_size(arr))
		printf("no transfer offers\n");
	for (i = 0; i < json_array_size(arr); i++) {
		const json_t *o = json_array_get(arr, i);

		time_format_rfc3339(jint(o, "deadline"), when, sizeof(when));
		printf("offer %-6lld plan %-6lld %6lld records  %-15s answer due %s  package %s", jint(o, "id"),
		       jint(o, "plan"), jint(o, "count"), jstr(o, "state"), when, jstr(o, "package"));
		if (json_is_integer(json_object_get(o, "certificate")))
			printf("  destroyed (certificate %lld)", jint(o, "certificate"));
		printf("\n");
	}
}

/* Writes PREFIX.json (the exact signed bytes) and PREFIX.sig (raw). */
static int export_cert(struct store *st, uint64_t id, const char *prefix, struct cu_err *err)
{
	char path[4096];
	uint8_t sig[64];
	char *text = NULL;
	size_t len = 0;
	int rc;

	rc = ret_certificate_export(st, id, &text, &len, sig, err);
	if (rc)
		return rc;
	snprintf(path, sizeof(path), "%s.json", prefix);
	rc = fio_atomic_replace(path, text, len, 0644, err);
	snprintf(path, sizeof(path), "%s.sig", prefix);
	if (rc == 0)
		rc = fio_atomic_replace(path, sig, sizeof(sig), 0644, err);
	free(text);
	if (rc == 0)
		printf("wrote %s.json and %s.sig; check them with the archive's public key:\n"
		       "  custos pubkey -d DIR > pub.pem\n"
		       "  openssl pkeyutl -verify -pubin -inkey pub.pem -rawin -in %s.json -sigfile %s.sig\n",
		       prefix, prefix, prefix, prefix);
	return rc;
}

int cmd_retention(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"by", required_argument, NULL, 'b'},
		{"dry-run", no_argument, NULL, 'n'},
		{"json", no_argument, NULL, 'j'},
		{"package-dir", required_argument, NULL, 'p'},
		{"respond-within", required_argument, NULL, 'r'},
		{"export", required_argument, NULL, 'e'},
		{"out", required_argument, NULL, 'o'},
		{"reason", required_argument, NULL, 'R'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = NULL, *by = NULL, *sub, *out = NULL, *reason = NULL;
	struct ret_exec_opts eo;
	struct ret_duration resp;
	struct store *st = NULL;
	struct cu_err err;
	json_t *j = NULL;
	uint64_t id = 0, exp_id = 0, aseq;
	int c, json = 0, dry = 0, rc = EXIT_FAIL, want_id = 0, need_by = 0, writer = 1, have_export = 0;

	cu_err_clear(&err);
	memset(&eo, 0, sizeof(eo));
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
		case 'n': dry = 1; break;
		case 'j': json = 1; break;
		case 'p': eo.package_dir = optarg; break;
		case 'r':
			if (ret_duration_parse(optarg, &resp, &err) != 0)
				return cli_usage("retention", "--respond-within: %s", err.msg);
			eo.respond_ms = ret_duration_add(0, &resp);
			break;
		case 'e':
			if (cli_parse_u64(optarg, &exp_id) != 0)
				return cli_usage("retention", "--export needs a certificate id");
			have_export = 1;
			break;
		case 'o': out = optarg; break;
		case 'R': reason = optarg; break;
		case 'h': usage(stdout); return EXIT_OK;
		default: return EXIT_USAGE;
		}
	}
	argc--;
	argv++;
	if (!strcmp(sub, "plan")) {
		need_by = 1;
		writer = !dry;
	} else if (!strcmp(sub, "approve") || !strcmp(sub, "accept") || !strcmp(sub, "decline")) {
		want_id = need_by = 1;
	} else if (!strcmp(sub, "reject")) {
		want_id = need_by = 1;
		if (!reason)
			return cli_usage("retention", "reject needs --reason TEXT");
	} else if (!strcmp(sub, "execute")) {
		want_id = 1;
	} else if (!strcmp(sub, "certificates") || !strcmp(sub, "plans") || !strcmp(sub, "offers")) {
		writer = 0;
		if (have_export && !out)
			return cli_usage("retention", "--export needs --out PREFIX");
	} else if (!strcmp(sub, "run")) {
		/* the scheduler's run, by hand */
	} else {
		return cli_usage("retention", "unknown subcommand '%s' (plan, approve, reject, execute,"
				 " certificates, plans, offers, accept, decline, run)", sub);
	}
	if (want_id) {
		if (optind + 1 != argc || cli_parse_u64(argv[optind], &id) != 0)
			return cli_usage("retention", "%s needs one id (a number)", sub);
	} else if (optind != argc) {
		return cli_usage("retention", "unexpected argument '%s'", argv[optind]);
	}
	if (need_by && !by)
		return cli_usage("retention", "%s needs --by NAME", sub);
	eo.by = by;
	if (store_open(cli_datadir(dir), NULL, writer ? 0 : STORE_RDONLY, &st, &err) != 0)
		return cli_fail("retention", &err);
	if (!strcmp(sub, "plan")) {
		if (ret_plan(st, NULL, by, dry, time_now_ms(), &id, &j, &err) != 0)
			goto fail;
		if (json)
			cli_print_json(j);
		else
			print_plan(j, by);
	} else if (!strcmp(sub, "approve")) {
		if (ret_approve(st, id, by, time_now_ms(), &aseq, &err) != 0)
			goto fail;
		if (json)
			printf("{\"plan\": %llu, \"approval\": %llu}\n", (unsigned long long)id, (unsigned long long)aseq);
		else
			printf("plan %llu approved by %s (record %llu)\n", (unsigned long long)id, by,
			       (unsigned long long)aseq);
	} else if (!strcmp(sub, "reject")) {
		if (ret_reject(st, id, by, reason, time_now_ms(), &aseq, &err) != 0)
			goto fail;
		if (json)
			printf("{\"plan\": %llu, \"rejection\": %llu}\n", (unsigned long long)id, (unsigned long long)aseq);
		else
			printf("plan %llu rejected by %s (record %llu); it can never be approved or executed\n",
			       (unsigned long long)id, by, (unsigned long long)aseq);
	} else if (!strcmp(sub, "execute")) {
		if (ret_execute(st, NULL, id, &eo, time_now_ms(), &j, &err) != 0)
			goto fail;
		if (json)
			cli_print_json(j);
		else
			print_exec(j);
	} else if (!strcmp(sub, "accept") || !strcmp(sub, "decline")) {
		if (ret_offer_answer(st, id, !strcmp(sub, "accept"), by, time_now_ms(), &err) != 0)
			goto fail;
		printf("offer %llu %s; its records are destroyed by the next plan once approved and executed\n",
		       (unsigned long long)id, !strcmp(sub, "accept") ? "accepted" : "declined");
	} else if (!strcmp(sub, "run")) {
		if (ret_run_automatic(st, NULL, time_now_ms(), &j, &err) != 0)
			goto fail;
		if (json) {
			cli_print_json(j);
		} else if (!json_is_integer(json_object_get(j, "plan"))) {
			printf("automatic run: nothing due under policies with approval none\n");
		} else {
			printf("automatic run: plan %lld\n", jint(j, "plan"));
			print_exec(json_object_get(j, "execution"));
		}
	} else if (have_export) {
		if (export_cert(st, exp_id, out, &err) != 0)
			goto fail;
	} else {
		int r = !strcmp(sub, "certificates") ? ret_certificates_json(st, &j, &err)
			: !strcmp(sub, "plans") ? ret_plans_json(st, &j, &err)
						: ret_offers_json(st, time_now_ms(), &j, &err);
		if (r != 0)
			goto fail;
		if (json)
			cli_print_json(j);
		else if (!strcmp(sub, "certificates"))
			print_certs(j);
		else if (!strcmp(sub, "plans"))
			print_plans(j);
		else
			print_offers(j);
	}
	rc = EXIT_OK;
	goto out;
fail:
	rc = err.code == CU_EINVAL ? (cli_fail("retention", &err), EXIT_USAGE) : cli_fail("retention", &err);
out:
	json_decref(j);
	store_close(st);
	return rc;
}
