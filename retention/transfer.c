/* transfer.c - transfer to the public archive (BArchG section 5): the
 * package offered, the archive's answer, and the offers' states.
 *
 * The package is a BagIt bag (RFC 8493) holding the offered records as
 * JSON Lines (the objects of `custos show --json`, leaf hashes included).
 * This is the retention engine's own minimal bag until the export module's
 * BagIt packages (with proofs) exist; docs/RETENTION.md "Transfer".
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archiver/record_json.h"
#include "common/encode.h"
#include "common/fileio.h"
#include "common/timeutil.h"
#include "retention/plan_int.h"
#include "retention/ret_int.h"

static const char *const bag_files[] = {
	"bagit.txt", "bag-info.txt", "manifest-sha256.txt", "tagmanifest-sha256.txt",
};

static int sha256_hex(const void *p, size_t n, char hex[2 * HASH_LEN + 1])
{
	uint8_t md[HASH_LEN];

	if (hash_sha256(p, n, md) != 0)
		return CU_ECRYPTO;
	hex_encode(md, HASH_LEN, hex);
	return 0;
}

/* Streams the records into pkg/data/records.jsonl (temp file, fsync,
 * rename) and hashes them. */
static int write_records(struct store *st, const char *pkg, const uint64_t *seqs, size_t n, char hex[65],
			 uint64_t *bytes, struct cu_err *err)
{
	char path[4400], tmp[4500], data[4300];
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t dg[HASH_LEN];
	unsigned int dlen = 0;
	struct store_entry e;
	struct buf rb;
	size_t i;
	int fd = -1, rc = 0;

	buf_init(&rb, REC_MAX_BYTES + 1024);
	*bytes = 0;
	snprintf(data, sizeof(data), "%s/data", pkg);
	snprintf(path, sizeof(path), "%s/records.jsonl", data);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		rc = cu_err_set(err, CU_ECRYPTO, "transfer: SHA-256 unavailable");
		goto out;
	}
	rc = fio_mkdir(data, 0750, err);
	if (rc)
		goto out;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0) {
		rc = cu_err_errno(err, errno, "transfer: cannot create %s", tmp);
		goto out;
	}
	for (i = 0; rc == 0 && i < n; i++) {
		json_t *o;
		char *line;

		buf_reset(&rb);
		rc = store_get(st, seqs[i], &rb, &e, err);
		if (rc)
			break;
		o = rec_entry_to_json(&e);
		line = o ? json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
		json_decref(o);
		if (!line) {
			rc = cu_err_set(err, CU_ENOMEM, "transfer: record %llu cannot be written",
					(unsigned long long)seqs[i]);
			break;
		}
		rc = fio_write_all(fd, line, strlen(line), tmp, err);
		if (rc == 0)
			rc = fio_write_all(fd, "\n", 1, tmp, err);
		if (rc == 0 && (EVP_DigestUpdate(md, line, strlen(line)) != 1 || EVP_DigestUpdate(md, "\n", 1) != 1))
			rc = cu_err_set(err, CU_ECRYPTO, "transfer: hashing failed");
		*bytes += strlen(line) + 1;
		free(line);
	}
	if (rc == 0)
		rc = fio_fsync(fd, tmp, err);
	if (rc == 0 && (EVP_DigestFinal_ex(md, dg, &dlen) != 1 || dlen != HASH_LEN))
		rc = cu_err_set(err, CU_ECRYPTO, "transfer: hashing failed");
	if (rc)
		goto out;
	close(fd);
	fd = -1;
	if (rename(tmp, path) != 0) {
		rc = cu_err_errno(err, errno, "transfer: cannot rename %s", tmp);
		goto out;
	}
	rc = fio_fsync_dir(data, err);
	hex_encode(dg, HASH_LEN, hex);
out:
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	EVP_MD_CTX_free(md);
	buf_release(&rb);
	return rc;
}

int ret_package_write(struct store *st, const char *dir, const char *pkg, uint64_t plan_id,
		      const uint64_t *seqs, size_t n, int64_t now_ms, char digest_hex[2 * HASH_LEN + 1],
		      struct cu_err *err)
{
	static const char bagit[] = "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n";
	char path[4300], when[40], h1[65], h2[65], h3[65];
	struct buf info, manifest, tagm;
	uint64_t bytes = 0;
	int rc;

	buf_init(&info, 1 << 16);
	buf_init(&manifest, 1 << 12);
	buf_init(&tagm, 1 << 12);
	rc = fio_mkdir(dir, 0750, err);
	if (rc == 0)
		rc = fio_mkdir(pkg, 0750, err);
	if (rc == 0)
		rc = write_records(st, pkg, seqs, n, digest_hex, &bytes, err);
	if (rc)
		goto out;
	time_format_rfc3339(now_ms, when, sizeof(when));
	when[10] = '\0';
	if (buf_printf(&manifest, "%s  data/records.jsonl\n", digest_hex) != 0 ||
	    buf_printf(&info, "Source-Organization: %s\nBagging-Date: %s\nPayload-Oxum: %llu.1\n"
		       "External-Identifier: custos transfer plan %llu\n"
		       "External-Description: %zu records offered for transfer to the public archive"
		       " (BArchG section 5); data/records.jsonl holds one record per line with its leaf hash\n",
		       store_origin(st), when, (unsigned long long)bytes, (unsigned long long)plan_id, n) != 0) {
		rc = cu_err_set(err, CU_ENOMEM, "transfer: out of memory");
		goto out;
	}
	if (sha256_hex(bagit, strlen(bagit), h1) != 0 || sha256_hex(info.data, info.len, h2) != 0 ||
	    sha256_hex(manifest.data, manifest.len, h3) != 0 ||
	    buf_printf(&tagm, "%s  bagit.txt\n%s  bag-info.txt\n%s  manifest-sha256.txt\n", h1, h2, h3) != 0) {
		rc = cu_err_set(err, CU_ENOMEM, "transfer: cannot hash the tag files");
		goto out;
	}
	snprintf(path, sizeof(path), "%s/bagit.txt", pkg);
	rc = fio_atomic_replace(path, bagit, strlen(bagit), 0640, err);
	snprintf(path, sizeof(path), "%s/bag-info.txt", pkg);
	if (rc == 0)
		rc = fio_atomic_replace(path, info.data, info.len, 0640, err);
	snprintf(path, sizeof(path), "%s/manifest-sha256.txt", pkg);
	if (rc == 0)
		rc = fio_atomic_replace(path, manifest.data, manifest.len, 0640, err);
	snprintf(path, sizeof(path), "%s/tagmanifest-sha256.txt", pkg);
	if (rc == 0)
		rc = fio_atomic_replace(path, tagm.data, tagm.len, 0640, err);
	if (rc == 0)
		rc = fio_fsync_dir(dir, err);
out:
	buf_release(&info);
	buf_release(&manifest);
	buf_release(&tagm);
	return rc;
}

int ret_package_remove(const char *pkg, struct cu_err *err)
{
	char path[4300];
	size_t i;
	int rc = 0;

	snprintf(path, sizeof(path), "%s/data/records.jsonl", pkg);
	if (unlink(path) != 0 && errno != ENOENT)
		rc = cu_err_errno(err, errno, "transfer: cannot remove %s", path);
	snprintf(path, sizeof(path), "%s/data", pkg);
	if (rmdir(path) != 0 && errno != ENOENT && rc == 0)
		rc = cu_err_errno(err, errno, "transfer: cannot remove %s", path);
	for (i = 0; i < sizeof(bag_files) / sizeof(bag_files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", pkg, bag_files[i]);
		if (unlink(path) != 0 && errno != ENOENT && rc == 0)
			rc = cu_err_errno(err, errno, "transfer: cannot remove %s", path);
	}
	if (rmdir(pkg) != 0 && errno != ENOENT && rc == 0)
		rc = cu_err_errno(err, errno, "transfer: cannot remove %s", pkg);
	return rc;
}

int ret_offer_answer(struct store *st, uint64_t offer_id, int accept, const char *by, int64_t now_ms,
		     struct cu_err *err)
{
	struct ret_state *s = NULL;
	struct ret_offer *o;
	json_t *m = NULL;
	char body[300];
	int rc;

	rc = ret_check_person(by, err);
	if (rc)
		return rc;
	pthread_mutex_lock(&ret_lock);
	rc = ret_state_load(st, &s, err);
	if (rc)
		goto out;
	o = ret_state_offer(s, offer_id);
	if (!o) {
		rc = cu_err_set(err, CU_ENOTFOUND, "record %llu is not a transfer offer (see custos retention offers)",
				(unsigned long long)offer_id);
		goto out;
	}
	if (o->state != OFFER_OFFERED) {
		rc = cu_err_set(err, CU_ESTATE, "offer %llu was %s already by %s", (unsigned long long)offer_id,
				o->state == OFFER_ACCEPTED ? "accepted" : "declined", o->answered_by);
		goto out;
	}
	m = json_pack("{s:s, s:I, s:s}", "op", "transfer.answer", "offer", (json_int_t)offer_id, "answer",
		      accept ? "accepted" : "declined");
	if (!m) {
		rc = cu_err_set(err, CU_ENOMEM, "retention: out of memory");
		goto out;
	}
	snprintf(body, sizeof(body), "transfer offer %llu %s by the public archive%s", (unsigned long long)offer_id,
		 accept ? "accepted" : "declined", now_ms >= o->deadline_ms ? " (after the deadline)" : "");
	rc = ret_append(st, REC_APPROVAL, m, body, by, now_ms, NULL, NULL, err);
out:
	pthread_mutex_unlock(&ret_lock);
	json_decref(m);
	ret_state_free(s);
	return rc;
}

int ret_offers_json(struct store *st, int64_t now_ms, json_t **out, struct cu_err *err)
{
	struct ret_state *s = NULL;
	json_t *arr;
	size_t i, c;
	int rc;

	*out = NULL;
	rc = ret_state_load(st, &s, err);
	if (rc)
		return rc;
	arr = json_array();
	for (i = 0; arr && i < s->noffers; i++) {
		const struct ret_offer *o = &s->offers[i];
		json_t *x = json_pack("{s:I, s:I, s:I, s:s, s:I, s:O, s:O}", "id", (json_int_t)o->id, "plan",
				      (json_int_t)o->plan, "count", (json_int_t)o->nseqs, "state",
				      ret_offer_state_name(o, now_ms), "deadline", (json_int_t)o->deadline_ms,
				      "package", json_object_get(o->doc, "package"), "seqs",
				      json_object_get(o->doc, "seqs"));

		if (!x)
			continue;
		if (o->state != OFFER_OFFERED) {
			json_object_set_new(x, "answered_by", json_string(o->answered_by));
			json_object_set_new(x, "answered_at", json_integer(o->answered_ms));
		}
		/* the certificates that destroyed its records */
		for (c = 0; c < s->ncerts; c++) {
			json_t *g = json_object_get(s->certs[c].doc, "groups");
			size_t j;

			for (j = 0; j < json_array_size(g); j++)
				if ((uint64_t)json_integer_value(json_object_get(json_array_get(g, j), "offer")) == o->id)
					json_object_set_new(x, "certificate", json_integer((json_int_t)s->certs[c].id));
		}
		json_array_append_new(arr, x);
	}
	*out = arr ? json_pack("{s:o}", "offers", arr) : NULL;
	ret_state_free(s);
	return *out ? 0 : cu_err_set(err, CU_ENOMEM, "retention: out of memory");
}
