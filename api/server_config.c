/* server_config.c - the "server" section of custos.json as the API sees it
 * (api.h); the file is parsed by the one loader, common/config.c. */
#include "api/api.h"

#include <stdlib.h>

void api_config_defaults(struct api_config *cfg)
{
	cfg_server_defaults(cfg);
}

int api_config_listen(struct api_config *cfg, const char *addr, struct cu_err *err)
{
	return cfg_server_listen(cfg, addr, err);
}

int api_config_load(const char *path, struct api_config *cfg, struct cu_err *err)
{
	struct custos_config *all = malloc(sizeof(*all)); /* ~7 KiB: not on a handler's stack */
	int rc;

	if (!all)
		return cu_err_set(err, CU_ENOMEM, "out of memory");
	config_defaults(all);
	all->server = *cfg;
	rc = config_load(path, all, err);
	if (rc == 0)
		*cfg = all->server;
	free(all);
	return rc;
}
