/* cmd_serve.c - `custos serve -d DIR [-c FILE] [--listen ADDR:PORT]`: the
 * HTTP API daemon (docs/API.md). SIGHUP reloads tokens and configuration,
 * SIGTERM/SIGINT finish in-flight requests and stop. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "cli/cli.h"
#include "common/fileio.h"
#include "common/layout.h"

#define SERVE_GRACE_MS 30000 /* in-flight requests get this long on SIGTERM */

static void usage(FILE *f)
{
	fprintf(f, "usage: custos serve [-d DIR] [-c FILE] [--listen ADDR:PORT] [--list-routes]\n"
		   "Serves the HTTP API (default 127.0.0.1:8080). The configuration is the\n"
		   "\"server\" object of DIR/custos.json or of FILE. SIGHUP reloads tokens and\n"
		   "configuration; SIGTERM finishes in-flight requests and stops.\n"
		   "--list-routes prints the routing table (METHOD PATH ROLES) and exits.\n");
}

int cmd_serve(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"config", required_argument, NULL, 'c'},
		{"listen", required_argument, NULL, 'l'},
		{"list-routes", no_argument, NULL, 'r'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = NULL, *config = NULL, *listen = NULL;
	char cfgpath[4096], pidpath[4096], pidtext[32];
	struct custos_config *all = NULL;
	struct api_config cfg;
	struct api_server *srv = NULL;
	struct cu_err err;
	sigset_t set;
	int c, sig, rc;

	cu_err_clear(&err);
	while ((c = getopt_long(argc, argv, "d:c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'c': config = optarg; break;
		case 'l': listen = optarg; break;
		case 'r': api_routes_print(stdout); return EXIT_OK;
		case 'h': usage(stdout); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind != argc)
		return cli_usage("serve", "unexpected argument '%s'", argv[optind]);
	dir = cli_datadir(dir);
	if (config)
		snprintf(cfgpath, sizeof(cfgpath), "%s", config);
	else
		snprintf(cfgpath, sizeof(cfgpath), "%s/" LAYOUT_CONFIG, dir);
	/* the whole file, once, by the one loader; each subsystem gets its section */
	if (config_read(cfgpath, 0, &all, &err) != 0)
		return cli_fail("serve", &err);
	if (listen && api_config_listen(&all->server, listen, &err) != 0) {
		free(all);
		return cli_usage("serve", "%s", err.msg);
	}
	cfg = all->server;

	/* Every thread started from here on inherits the blocked set, so the
	 * signals are taken only by sigwait below. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	rc = api_server_start(dir, cfgpath, all, &srv, &err);
	free(all);
	if (rc != 0)
		return cli_fail("serve", &err);
	/* The pid file lets `custos token` ask the daemon to reload; written
	 * once the archive's writer lock is ours, so that a second daemon
	 * refused by the lock does not touch the first one's file. */
	snprintf(pidpath, sizeof(pidpath), "%s/" LAYOUT_SERVE_PID, dir);
	snprintf(pidtext, sizeof(pidtext), "%ld\n", (long)getpid());
	if (fio_atomic_replace(pidpath, pidtext, strlen(pidtext), 0644, &err) != 0) {
		fprintf(stderr, "custos serve: warning: %s\n", err.msg);
		cu_err_clear(&err);
	}
	fprintf(stderr, "custos serve: listening on %s://%s%s%s:%u/ (pid %ld)\n",
		cfg.tls_cert_file[0] ? "https" : "http", strchr(cfg.listen_host, ':') ? "[" : "", cfg.listen_host,
		strchr(cfg.listen_host, ':') ? "]" : "", api_server_port(srv), (long)getpid());
	fflush(stderr);

	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			cu_err_clear(&err);
			if (api_server_reload(srv, &err) != 0)
				fprintf(stderr, "custos serve: reload failed, keeping the old settings: %s\n", err.msg);
			else
				fprintf(stderr, "custos serve: reloaded tokens and configuration\n");
			continue;
		}
		break;
	}
	fprintf(stderr, "custos serve: stopping: finishing in-flight requests\n");
	api_server_stop(srv, SERVE_GRACE_MS);
	if (unlink(pidpath) != 0 && errno != ENOENT)
		fprintf(stderr, "custos serve: cannot remove %s\n", pidpath);
	fprintf(stderr, "custos serve: stopped\n");
	return EXIT_OK;
}
