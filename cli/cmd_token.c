/* cmd_token.c - `custos token add|list|revoke -d DIR ...`: bearer tokens
 * for the HTTP API (docs/API.md "Tokens"). The token is printed once, on a
 * line of its own; only its SHA-256 is stored. A running `custos serve`
 * (DIR/serve.pid) is asked to reload with SIGHUP. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/tokens.h"
#include "cli/cli.h"
#include "common/buf.h"
#include "common/fileio.h"
#include "common/layout.h"
#include "common/timeutil.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: custos token add [-d DIR] --role admin|officer|auditor|ingest [--source NAME] --name NAME\n"
		   "       custos token list [-d DIR] [--json]\n"
		   "       custos token revoke [-d DIR] NAME\n");
}

/* Signals a running daemon of this data directory to reload its tokens. */
static void notify_daemon(const char *dir)
{
	char path[4096], comm[64], cpath[64];
	struct buf b;
	struct cu_err err;
	FILE *f;
	long pid;

	snprintf(path, sizeof(path), "%s/" LAYOUT_SERVE_PID, dir);
	buf_init(&b, 64);
	if (fio_read_file(path, &b, &err) != 0 || b.len == 0)
		goto out;
	pid = strtol((const char *)b.data, NULL, 10);
	if (pid <= 1)
		goto out;
	/* Only a custos process: a stale pid file must not signal a stranger. */
	snprintf(cpath, sizeof(cpath), "/proc/%ld/comm", pid);
	f = fopen(cpath, "r");
	if (!f)
		goto out;
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = '\0';
	fclose(f);
	if (strncmp(comm, "custos", 6) != 0)
		goto out;
	if (kill((pid_t)pid, SIGHUP) == 0)
		fprintf(stderr, "custos token: asked custos serve (pid %ld) to reload\n", pid);
out:
	buf_release(&b);
}

static int token_add(const char *dir, int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"role", required_argument, NULL, 'r'},
		{"source", required_argument, NULL, 's'},
		{"name", required_argument, NULL, 'n'},
		{NULL, 0, NULL, 0},
	};
	const char *role = NULL, *source = NULL, *name = NULL;
	char token[TOK_TEXT_MAX];
	struct cu_err err;
	unsigned rbit;
	int c;

	cu_err_clear(&err);
	while ((c = getopt_long(argc, argv, "d:", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'r': role = optarg; break;
		case 's': source = optarg; break;
		case 'n': name = optarg; break;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind != argc || !role || !name)
		return cli_usage("token", "add needs --role and --name");
	rbit = tok_role_from_name(role);
	if (!rbit)
		return cli_usage("token", "--role must be admin, officer, auditor or ingest");
	dir = cli_datadir(dir);
	if (tok_add(dir, name, rbit, source, token, &err) != 0) {
		if (err.code == CU_EINVAL)
			return cli_usage("token", "%s", err.msg);
		return cli_fail("token", &err);
	}
	printf("%s\n", token);
	fflush(stdout);
	memset(token, 0, sizeof(token));
	fprintf(stderr, "custos token: created %s token '%s'; it is shown only this once\n", role, name);
	notify_daemon(dir);
	return EXIT_OK;
}

static int token_list(const char *dir, int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"json", no_argument, NULL, 'j'},
		{NULL, 0, NULL, 0},
	};
	struct tok_set s;
	struct cu_err err;
	char ts[32];
	size_t i;
	int c, json = 0;

	cu_err_clear(&err);
	while ((c = getopt_long(argc, argv, "d:", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'j': json = 1; break;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind != argc)
		return cli_usage("token", "list takes no arguments");
	if (tok_load(cli_datadir(dir), &s, &err) != 0)
		return cli_fail("token", &err);
	for (i = 0; i < s.n; i++) {
		time_format_rfc3339(s.v[i].created_ms, ts, sizeof(ts));
		if (json) {
			json_t *o = json_pack("{s:s, s:s, s:s}", "name", s.v[i].name, "role",
					      tok_role_name(s.v[i].role), "created", ts);
			char *t;

			if (o && s.v[i].source[0])
				json_object_set_new(o, "source", json_string(s.v[i].source));
			t = o ? json_dumps(o, JSON_COMPACT) : NULL;
			if (t)
				printf("%s\n", t);
			free(t);
			json_decref(o);
		} else {
			printf("%-24s %-8s %-20s %s\n", s.v[i].name, tok_role_name(s.v[i].role),
			       s.v[i].source[0] ? s.v[i].source : "-", ts);
		}
	}
	tok_set_release(&s);
	return EXIT_OK;
}

static int token_revoke(const char *dir, int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"name", required_argument, NULL, 'n'},
		{NULL, 0, NULL, 0},
	};
	const char *name = NULL;
	struct cu_err err;
	int c;

	cu_err_clear(&err);
	while ((c = getopt_long(argc, argv, "d:", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'n': name = optarg; break;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (!name && optind + 1 == argc)
		name = argv[optind++];
	if (!name || optind != argc)
		return cli_usage("token", "revoke needs the token's NAME");
	dir = cli_datadir(dir);
	if (tok_revoke(dir, name, &err) != 0)
		return cli_fail("token", &err);
	fprintf(stderr, "custos token: revoked '%s'\n", name);
	notify_daemon(dir);
	return EXIT_OK;
}

int cmd_token(int argc, char **argv)
{
	const char *dir = NULL;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	if (!strcmp(argv[1], "add"))
		return token_add(dir, argc - 1, argv + 1);
	if (!strcmp(argv[1], "list"))
		return token_list(dir, argc - 1, argv + 1);
	if (!strcmp(argv[1], "revoke"))
		return token_revoke(dir, argc - 1, argv + 1);
	return cli_usage("token", "unknown subcommand '%s' (add, list, revoke)", argv[1]);
}
