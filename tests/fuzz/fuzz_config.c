/* fuzz_config.c - the one configuration loader (common/config.h) and the
 * token file loader: the input is parsed by config_parse, and written as
 * DIR/custos.json (read through the loader by store_open) and as
 * DIR/tokens.json (tok_load) of an archive made once with store_init. Any
 * bytes must load or be refused with a message. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/tokens.h"
#include "archiver/store.h"
#include "common/config.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char arch[600];
static char cfgpath[700], tokpath[700];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct cu_err err;

	(void)argc;
	(void)argv;
	cu_err_clear(&err);
	snprintf(arch, sizeof(arch), "%s/arch", fuzz_tmpdir("config"));
	if (store_init(arch, FUZZ_ORIGIN, &err) != 0) {
		fprintf(stderr, "fuzz_config: store_init: %s\n", err.msg);
		abort();
	}
	snprintf(cfgpath, sizeof(cfgpath), "%s/custos.json", arch);
	snprintf(tokpath, sizeof(tokpath), "%s/tokens.json", arch);
	return 0;
}

static void put(const char *path, const uint8_t *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0 || (n && write(fd, p, n) != (ssize_t)n) || close(fd) != 0) {
		fprintf(stderr, "fuzz_config: write %s: %s\n", path, strerror(errno));
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct custos_config cfg; /* large; one fuzzing thread */
	struct tok_set toks;
	struct store *st = NULL;
	struct cu_err err;

	if (size > (1u << 20))
		return 0;
	put(cfgpath, data, size);
	put(tokpath, data, size);

	cu_err_clear(&err);
	if (store_open(arch, NULL, STORE_RDONLY, &st, &err) == 0)
		store_close(st);
	else if (!err.msg[0])
		abort();

	cu_err_clear(&err);
	config_defaults(&cfg);
	if (config_parse(cfgpath, (const char *)data, size, &cfg, &err) != 0 && !err.msg[0])
		abort();
	if (cfg.server.threads == 0 || cfg.server.max_connections == 0 || cfg.server.max_body_bytes == 0 ||
	    cfg.retention.interval_s == 0 || cfg.exports.package_ttl_s == 0)
		abort(); /* a loaded limit of 0 would disable the limit */
	if (memchr(cfg.store.origin, 0, sizeof(cfg.store.origin)) == NULL ||
	    memchr(cfg.store.kek_file, 0, sizeof(cfg.store.kek_file)) == NULL ||
	    memchr(cfg.server.tls_key_file, 0, sizeof(cfg.server.tls_key_file)) == NULL)
		abort(); /* every string ends inside its field */

	cu_err_clear(&err);
	memset(&toks, 0, sizeof(toks));
	if (tok_load(arch, &toks, &err) == 0)
		tok_set_release(&toks);
	else if (!err.msg[0])
		abort();
	return 0;
}
