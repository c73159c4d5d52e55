/* head.c - the head file (see head.h). */
#include "archiver/head.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/bytes.h"
#include "common/fileio.h"

int head_read(const char *dir, struct head_state *h, struct cu_err *err)
{
	char path[PATH_MAX];
	uint8_t b[HEAD_LEN], sum[HASH_LEN];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/head", dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? CU_ENOTFOUND : cu_err_errno(err, errno, "open %s", path);
	n = pread(fd, b, sizeof(b), 0);
	close(fd);
	if (n == 0)
		return CU_ENOTFOUND; /* created, never written */
	if (n != HEAD_LEN || memcmp(b, "CUHEAD01", 8) != 0 || hash_sha256(b, 48, sum) != 0 ||
	    memcmp(sum, b + 48, 8) != 0)
		return cu_err_set(err, CU_ECORRUPT, "%s is corrupt", path);
	h->size = get_be64(b + 8);
	memcpy(h->chain, b + 16, HASH_LEN);
	return 0;
}

int head_write(int fd, const struct head_state *h, struct cu_err *err)
{
	uint8_t b[HEAD_LEN], sum[HASH_LEN];
	int rc;

	memcpy(b, "CUHEAD01", 8);
	put_be64(b + 8, h->size);
	memcpy(b + 16, h->chain, HASH_LEN);
	rc = hash_sha256(b, 48, sum);
	if (rc)
		return rc;
	memcpy(b + 48, sum, 8);
	return fio_pwrite_all(fd, b, sizeof(b), 0, "head", err);
}
