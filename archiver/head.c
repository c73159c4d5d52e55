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
#include "common/layout.h"

/* Decodes one slot; 0 if it is valid. */
static int slot_decode(const uint8_t *b, struct head_state *h)
{
	uint8_t sum[HASH_LEN];

	if (memcmp(b, "CUHEAD02", 8) != 0 || hash_sha256(b, 80, sum) != 0 ||
	    memcmp(sum, b + 80, 8) != 0)
		return CU_ECORRUPT;
	h->size = get_be64(b + 8);
	memcpy(h->chain, b + 16, HASH_LEN);
	memcpy(h->root, b + 48, HASH_LEN);
	return 0;
}

int head_read(const char *dir, struct head_state *h, struct cu_err *err)
{
	char path[PATH_MAX];
	uint8_t b[2 * HEAD_SLOT_LEN];
	struct head_state s[2];
	int ok[2], fd;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/" LAYOUT_HEAD, dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? CU_ENOTFOUND : cu_err_errno(err, errno, "open %s", path);
	memset(b, 0, sizeof(b));
	n = pread(fd, b, sizeof(b), 0);
	close(fd);
	if (n <= 0)
		return CU_ENOTFOUND; /* created, never written */
	ok[0] = slot_decode(b, &s[0]) == 0;
	ok[1] = slot_decode(b + HEAD_SLOT_LEN, &s[1]) == 0;
	if (!ok[0] && !ok[1])
		return cu_err_set(err, CU_ECORRUPT, "%s is corrupt", path);
	s[0].slot = 0;
	s[1].slot = 1;
	*h = ok[0] && (!ok[1] || s[0].size >= s[1].size) ? s[0] : s[1];
	return 0;
}

void head_encode(const struct head_state *h, uint8_t out[HEAD_SLOT_LEN])
{
	uint8_t sum[HASH_LEN];

	memcpy(out, "CUHEAD02", 8);
	put_be64(out + 8, h->size);
	memcpy(out + 16, h->chain, HASH_LEN);
	memcpy(out + 48, h->root, HASH_LEN);
	/* A failed SHA-256 leaves a slot that simply reads as invalid. */
	if (hash_sha256(out, 80, sum) != 0)
		memset(sum, 0, sizeof(sum));
	memcpy(out + 80, sum, 8);
}

int head_write(int fd, int slot, const struct head_state *h, struct cu_err *err)
{
	uint8_t b[HEAD_SLOT_LEN];

	head_encode(h, b);
	return fio_pwrite_all(fd, b, sizeof(b), (off_t)(slot ? HEAD_SLOT_LEN : 0), "head", err);
}
