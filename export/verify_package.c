/* verify_package.c - exp_verify: checking a package offline (docs/EXPORTS.md
 * "Verification"), in this order, stopping at the first failure:
 *
 *   1. reading: every member is a regular file (or directory) under one
 *      top directory, with a safe name, within the caps (count, size,
 *      total: zip and tar bombs stop here), no name twice; SHA-256 and
 *      SHA-512 of each;
 *   2. manifests: SHA256SUMS (or the BagIt manifests and tag manifest)
 *      list every file exactly once with its digest;
 *   3. the key (--pubkey, else the package's own) and the checkpoint's
 *      signature;
 *   4. the custody record's inclusion proof and its metadata;
 *   5. every record's inclusion proof, against that same checkpoint, in
 *      seq order; the proven records must be exactly the selection the
 *      custody record names (count and selection digest);
 *   6. every other file is rendered again from the proven records and the
 *      custody metadata and must be byte for byte what the package holds;
 *      a file nobody produced is an added file.
 *
 * The package is read twice through libarchive (digests, then the proofs
 * streamed line by line), so memory holds the member table, the small
 * proof files and the proven records, never a whole large file.
 */
#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "archiver/checkpoint.h"
#include "archiver/keys.h"
#include "archiver/merkle.h"
#include "archiver/proof_json.h"
#include "common/encode.h"
#include "export/export_int.h"

#define READ_CHUNK (1u << 20)       /* bytes per archive_read_data call */
#define SMALL_MAX (64u << 10)       /* key, checkpoint */
#define CUSTODY_MAX (16u << 20)     /* the custody proof document */
#define MANIFEST_READ_MAX (1u << 30) /* a manifest's text */
#define PROGRESS_EVERY 1024

struct exp_read_caps exp_read_caps = {EXP_READ_MAX_MEMBERS, EXP_READ_MAX_MEMBER, EXP_READ_MAX_TOTAL};

/* One file of the package. */
struct vmember {
	char *path;               /* below the top directory */
	uint64_t size;            /* bytes read */
	uint8_t sha256[32];
	uint8_t sha512[64];
	int seen;                 /* accounted for: rendered, proof or manifest */
	int listed;               /* in a manifest (SHA256SUMS / BagIt payload manifest) */
	int listed512;            /* in the BagIt SHA-512 manifest */
	int tagged;               /* in the BagIt tag manifest */
};

/* Where the package comes from. */
struct vsrc {
	const char *path;         /* a file, or NULL */
	const void *mem;          /* else these bytes */
	size_t len;
};

/* What is known about the package while checking it. */
struct vpkg {
	struct vmember *m;        /* members, sorted by path after reading */
	size_t n, alloc;
	char base[EXP_READ_MAX_PATH]; /* the top directory */
	enum exp_container container;
	uint64_t total;           /* bytes of all members */
	int bagit;                /* 1 if bagit.txt is at the top */
	struct buf pub, checkpoint, custody, sums, man256, man512, tag256; /* kept files */
	exp_verify_progress_fn progress;
	void *progress_arg;
};

static void vpkg_release(struct vpkg *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		free(p->m[i].path);
	free(p->m);
	buf_release(&p->pub);
	buf_release(&p->checkpoint);
	buf_release(&p->custody);
	buf_release(&p->sums);
	buf_release(&p->man256);
	buf_release(&p->man512);
	buf_release(&p->tag256);
}

static struct archive *open_src(const struct vsrc *src, struct cu_err *err)
{
	struct archive *a = archive_read_new();
	int r;

	if (!a) {
		cu_err_set(err, CU_ENOMEM, "out of memory");
		return NULL;
	}
	/* Only what custos writes: zip (read through its central directory,
	 * as unzip and review platforms do) and tar; no compression filters. */
	archive_read_support_format_zip_seekable(a);
	archive_read_support_format_tar(a);
	if (src->path)
		r = archive_read_open_filename(a, src->path, READ_CHUNK);
	else
		r = archive_read_open_memory(a, src->mem, src->len);
	if (r != ARCHIVE_OK) {
		cu_err_set(err, CU_ECORRUPT, "%s: not a zip or tar package (%s)",
			   src->path ? src->path : "package",
			   archive_error_string(a) ? archive_error_string(a) : "unreadable");
		archive_read_free(a);
		return NULL;
	}
	return a;
}

/* A member name custos could have written: relative, '/'-separated, no
 * empty, "." or ".." parts, printable. */
static int safe_name(const char *s)
{
	const char *p = s;

	if (!*s || *s == '/')
		return 0;
	for (; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == '\\' || *p == 0x7F)
			return 0;
	for (p = s; *p;) {
		size_t n = strcspn(p, "/");

		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return 0;
		p += n;
		if (*p == '/')
			p++;
	}
	return 1;
}

/* The kept copy for a member path, if it is one of the small files. */
static struct buf *kept_for(struct vpkg *p, const char *rel, size_t *cap)
{
	const char *r = exp_bag_is_payload(rel) ? rel + strlen(EXP_BAG_DATA) : rel;
	int in_data = r != rel;

	*cap = SMALL_MAX;
	if (!strcmp(r, EXP_PUB))
		return &p->pub;
	if (!strcmp(r, EXP_CHECKPOINT))
		return &p->checkpoint;
	*cap = CUSTODY_MAX;
	if (!strcmp(r, EXP_CUSTODY_PROOF))
		return &p->custody;
	*cap = MANIFEST_READ_MAX;
	if (in_data)
		return NULL;
	if (!strcmp(rel, EXP_SUMS))
		return &p->sums;
	if (!strcmp(rel, EXP_BAG_MANIFEST256))
		return &p->man256;
	if (!strcmp(rel, EXP_BAG_MANIFEST512))
		return &p->man512;
	if (!strcmp(rel, EXP_BAG_TAGMANIFEST))
		return &p->tag256;
	return NULL;
}

static int member_cmp(const void *a, const void *b)
{
	return strcmp(((const struct vmember *)a)->path, ((const struct vmember *)b)->path);
}

static struct vmember *find_member(struct vpkg *p, const char *rel)
{
	struct vmember key;

	key.path = (char *)rel;
	return bsearch(&key, p->m, p->n, sizeof(*p->m), member_cmp);
}

/* Reads one member's data: digests, size caps, kept copy. */
static int read_member(struct vpkg *p, struct archive *a, struct vmember *m, struct buf *keep,
		       uint8_t *chunk, struct cu_err *err)
{
	EVP_MD_CTX *c256 = EVP_MD_CTX_new(), *c512 = EVP_MD_CTX_new();
	unsigned int len;
	la_ssize_t r;
	int rc = 0;

	if (!c256 || !c512 || EVP_DigestInit_ex(c256, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestInit_ex(c512, EVP_sha512(), NULL) != 1) {
		rc = cu_err_set(err, CU_ECRYPTO, "digest init failed");
		goto out;
	}
	for (;;) {
		r = archive_read_data(a, chunk, READ_CHUNK);
		if (r < 0) {
			rc = cu_err_set(err, CU_ECORRUPT, "%s: cannot be read (%s)", m->path,
					archive_error_string(a) ? archive_error_string(a) : "error");
			goto out;
		}
		if (r == 0)
			break;
		m->size += (uint64_t)r;
		p->total += (uint64_t)r;
		if (m->size > exp_read_caps.member_bytes || p->total > exp_read_caps.total_bytes) {
			rc = cu_err_set(err, CU_ETOOBIG, "%s: the package is larger than custos reads "
					"(%llu bytes per file, %llu in all)", m->path,
					(unsigned long long)exp_read_caps.member_bytes,
					(unsigned long long)exp_read_caps.total_bytes);
			goto out;
		}
		if (EVP_DigestUpdate(c256, chunk, (size_t)r) != 1 ||
		    EVP_DigestUpdate(c512, chunk, (size_t)r) != 1) {
			rc = cu_err_set(err, CU_ECRYPTO, "hashing failed");
			goto out;
		}
		if (keep && buf_append(keep, chunk, (size_t)r) != 0) {
			rc = cu_err_set(err, CU_ETOOBIG, "%s: larger than %zu bytes", m->path, keep->max);
			goto out;
		}
	}
	if (EVP_DigestFinal_ex(c256, m->sha256, &len) != 1 || EVP_DigestFinal_ex(c512, m->sha512, &len) != 1)
		rc = cu_err_set(err, CU_ECRYPTO, "hashing failed");
out:
	EVP_MD_CTX_free(c256);
	EVP_MD_CTX_free(c512);
	return rc;
}

/* Pass 1: every member's name, size and digests. */
static int read_members(struct vpkg *p, const struct vsrc *src, struct cu_err *err)
{
	struct archive *a = open_src(src, err);
	struct archive_entry *ae;
	uint8_t *chunk = malloc(READ_CHUNK);
	size_t i;
	int rc = 0, r;

	if (!a || !chunk) {
		rc = a ? cu_err_set(err, CU_ENOMEM, "out of memory") : (err && err->code ? err->code : CU_ECORRUPT);
		goto out;
	}
	for (;;) {
		const char *name, *slash;
		struct vmember *m;
		struct buf *keep;
		size_t cap, blen;
		char nm[EXP_READ_MAX_PATH + 1];
		mode_t type;

		r = archive_read_next_header(a, &ae);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
			rc = cu_err_set(err, CU_ECORRUPT, "package unreadable: %s",
					archive_error_string(a) ? archive_error_string(a) : "bad header");
			goto out;
		}
		if (!p->container)
			p->container = (archive_format(a) & ARCHIVE_FORMAT_BASE_MASK) == ARCHIVE_FORMAT_ZIP
					       ? EXP_ZIP : EXP_TAR;
		name = archive_entry_pathname_utf8(ae);
		if (!name)
			name = archive_entry_pathname(ae);
		if (!name || strlen(name) > EXP_READ_MAX_PATH) {
			rc = cu_err_set(err, CU_ECORRUPT, "a member has no name or one longer than %d bytes",
					EXP_READ_MAX_PATH);
			goto out;
		}
		snprintf(nm, sizeof(nm), "%s", name);
		type = archive_entry_filetype(ae);
		if (type == AE_IFDIR) {
			size_t l = strlen(nm);

			while (l && nm[l - 1] == '/')
				nm[--l] = '\0';
		} else if (type != AE_IFREG) {
			rc = cu_err_set(err, CU_ECORRUPT, "%s: not a regular file (links and devices are "
					"not part of an export)", nm);
			goto out;
		}
		if (!safe_name(nm)) {
			rc = cu_err_set(err, CU_ECORRUPT, "member name \"%s\" is not a plain relative path", nm);
			goto out;
		}
		slash = strchr(nm, '/');
		blen = slash ? (size_t)(slash - nm) : strlen(nm);
		if (!p->base[0]) {
			memcpy(p->base, nm, blen);
			p->base[blen] = '\0';
		} else if (strlen(p->base) != blen || memcmp(p->base, nm, blen)) {
			rc = cu_err_set(err, CU_ECORRUPT, "%s: outside the package's top directory %s", nm,
					p->base);
			goto out;
		}
		if (type == AE_IFDIR)
			continue;
		if (!slash) {
			rc = cu_err_set(err, CU_ECORRUPT, "%s: a file beside the package's top directory", nm);
			goto out;
		}
		if (archive_entry_size_is_set(ae) &&
		    (uint64_t)archive_entry_size(ae) > exp_read_caps.member_bytes) {
			rc = cu_err_set(err, CU_ETOOBIG, "%s: larger than %llu bytes", nm,
					(unsigned long long)exp_read_caps.member_bytes);
			goto out;
		}
		if (p->n >= exp_read_caps.members) {
			rc = cu_err_set(err, CU_ETOOBIG, "the package has more than %llu files",
					(unsigned long long)exp_read_caps.members);
			goto out;
		}
		if (p->n == p->alloc) {
			size_t na = p->alloc ? p->alloc * 2 : 256;
			struct vmember *nm2 = realloc(p->m, na * sizeof(*nm2));

			if (!nm2) {
				rc = cu_err_set(err, CU_ENOMEM, "out of memory");
				goto out;
			}
			p->m = nm2;
			p->alloc = na;
		}
		m = &p->m[p->n];
		memset(m, 0, sizeof(*m));
		m->path = strdup(slash + 1);
		if (!m->path) {
			rc = cu_err_set(err, CU_ENOMEM, "out of memory");
			goto out;
		}
		p->n++;
		keep = kept_for(p, m->path, &cap);
		if (keep) {
			if (keep->data || keep->len) {
				rc = cu_err_set(err, CU_ECORRUPT, "%s appears twice in the package", m->path);
				goto out;
			}
			buf_init(keep, cap);
		}
		rc = read_member(p, a, m, keep, chunk, err);
		if (rc)
			goto out;
		if (p->progress && p->n % PROGRESS_EVERY == 0)
			p->progress(p->progress_arg, "reading", p->n, 0);
	}
	if (!p->n) {
		rc = cu_err_set(err, CU_ECORRUPT, "the package holds no files");
		goto out;
	}
	qsort(p->m, p->n, sizeof(*p->m), member_cmp);
	for (i = 1; i < p->n; i++) {
		if (!strcmp(p->m[i - 1].path, p->m[i].path)) {
			rc = cu_err_set(err, CU_ECORRUPT, "%s appears twice in the package", p->m[i].path);
			goto out;
		}
	}
	p->bagit = find_member(p, EXP_BAGIT_TXT) != NULL;
out:
	free(chunk);
	if (a)
		archive_read_free(a);
	return rc;
}

/* ---- manifests ---- */

/* Checks one manifest: every line "<hex digest>  <path>" names a member
 * (under data/ for BagIt payload manifests) whose digest matches; marks
 * the members listed. */
static int check_manifest(struct vpkg *p, const struct buf *text, const char *name, size_t dlen,
			  int payload_only, int tag_only, struct cu_err *err)
{
	const char *s = text->data ? (const char *)text->data : "", *end = s + text->len;
	unsigned long line = 0;

	if (text->len && end[-1] != '\n')
		return cu_err_set(err, CU_ECORRUPT, "%s: does not end with a newline", name);
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		uint8_t d[64];
		char path[EXP_READ_MAX_PATH + 1];
		size_t plen;
		struct vmember *m;
		int *flag;

		line++;
		if ((size_t)(nl - s) < 2 * dlen + 3 || s[2 * dlen] != ' ' ||
		    (s[2 * dlen + 1] != ' ' && s[2 * dlen + 1] != '*') ||
		    hex_decode(s, 2 * dlen, d, dlen) != 0)
			return cu_err_set(err, CU_ECORRUPT, "%s: line %lu is not \"<digest>  <path>\"", name,
					  line);
		plen = (size_t)(nl - s) - 2 * dlen - 2;
		if (plen > EXP_READ_MAX_PATH || plen == 0)
			return cu_err_set(err, CU_ECORRUPT, "%s: line %lu has a bad path", name, line);
		memcpy(path, s + 2 * dlen + 2, plen);
		path[plen] = '\0';
		s = nl + 1;
		if (payload_only && !exp_bag_is_payload(path))
			return cu_err_set(err, CU_ECORRUPT, "%s: line %lu names %s, which is not payload",
					  name, line, path);
		if (tag_only && exp_bag_is_payload(path))
			return cu_err_set(err, CU_ECORRUPT, "%s: line %lu names payload file %s", name, line,
					  path);
		m = find_member(p, path);
		if (!m)
			return cu_err_set(err, CU_ECORRUPT, "%s: listed in %s but missing from the package "
					  "(a removed file)", path, name);
		flag = tag_only ? &m->tagged : dlen == 64 ? &m->listed512 : &m->listed;
		if (*flag)
			return cu_err_set(err, CU_ECORRUPT, "%s: listed twice in %s", path, name);
		*flag = 1;
		if (memcmp(d, dlen == 64 ? m->sha512 : m->sha256, dlen))
			return cu_err_set(err, CU_ECORRUPT, "%s: its %s does not match %s (the file was "
					  "changed)", path, dlen == 64 ? "SHA-512" : "SHA-256", name);
	}
	return 0;
}

static int check_manifests(struct vpkg *p, struct cu_err *err)
{
	size_t i;
	int rc;

	if (!p->bagit) {
		if (!find_member(p, EXP_SUMS))
			return cu_err_set(err, CU_ECORRUPT, "%s: missing (neither a BagIt bag nor a package "
					  "with SHA256SUMS)", EXP_SUMS);
		rc = check_manifest(p, &p->sums, EXP_SUMS, 32, 0, 0, err);
		if (rc)
			return rc;
		for (i = 0; i < p->n; i++)
			if (!p->m[i].listed && strcmp(p->m[i].path, EXP_SUMS))
				return cu_err_set(err, CU_ECORRUPT, "%s: in the package but not listed in %s "
						  "(an added file)", p->m[i].path, EXP_SUMS);
		return 0;
	}
	if (!find_member(p, EXP_BAG_MANIFEST256) || !find_member(p, EXP_BAG_MANIFEST512) ||
	    !find_member(p, EXP_BAG_TAGMANIFEST) || !find_member(p, EXP_BAG_INFO))
		return cu_err_set(err, CU_ECORRUPT, "the bag lacks manifest-sha256.txt, manifest-sha512.txt, "
				  "tagmanifest-sha256.txt or bag-info.txt");
	if ((rc = check_manifest(p, &p->man256, EXP_BAG_MANIFEST256, 32, 1, 0, err)) ||
	    (rc = check_manifest(p, &p->man512, EXP_BAG_MANIFEST512, 64, 1, 0, err)) ||
	    (rc = check_manifest(p, &p->tag256, EXP_BAG_TAGMANIFEST, 32, 0, 1, err)))
		return rc;
	for (i = 0; i < p->n; i++) {
		const struct vmember *m = &p->m[i];
		int payload = exp_bag_is_payload(m->path);

		if (payload && (!m->listed || !m->listed512))
			return cu_err_set(err, CU_ECORRUPT, "%s: in the payload but not listed in %s (an "
					  "added file)", m->path,
					  m->listed ? EXP_BAG_MANIFEST512 : EXP_BAG_MANIFEST256);
		if (!payload && !m->tagged && strcmp(m->path, EXP_BAG_TAGMANIFEST))
			return cu_err_set(err, CU_ECORRUPT, "%s: a tag file not listed in "
					  "tagmanifest-sha256.txt (an added file)", m->path);
	}
	return 0;
}

/* ---- proofs ---- */

/* The pieces of an inclusion document the verifier uses after pj_verify. */
static int doc_fields(const char *text, size_t len, uint64_t *seq, uint8_t leaf[HASH_LEN],
		      uint8_t **data, size_t *dlen, const char **note_out, json_t **root,
		      struct cu_err *err)
{
	json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL), *v;
	const char *hex, *b64;

	*root = o;
	*data = NULL;
	if (!o)
		return cu_err_set(err, CU_ECORRUPT, "not JSON");
	v = json_object_get(o, "seq");
	hex = json_string_value(json_object_get(o, "leaf_hash"));
	b64 = json_string_value(json_object_get(o, "leaf_data"));
	*note_out = json_string_value(json_object_get(o, "checkpoint"));
	if (!json_is_integer(v) || json_integer_value(v) < 0 || !hex || !b64 || !*note_out ||
	    hex_decode(hex, strlen(hex), leaf, HASH_LEN) != 0)
		return cu_err_set(err, CU_ECORRUPT, "lacks seq, leaf_hash, leaf_data or checkpoint");
	*seq = (uint64_t)json_integer_value(v);
	if (b64_decode(b64, strlen(b64), REC_MAX_BYTES, data, dlen) != 0)
		return cu_err_set(err, CU_ECORRUPT, "leaf_data is not base64 of a record");
	return 0;
}

/* Verifies one inclusion document against the key and the package's
 * checkpoint text; returns the record. */
static int check_doc(const char *text, size_t len, EVP_PKEY *key, const struct buf *checkpoint,
		     uint64_t *seq, uint8_t leaf[HASH_LEN], uint8_t **data, size_t *dlen,
		     struct cu_err *err)
{
	struct pj_result pr;
	const char *note = NULL;
	json_t *root = NULL;
	int rc;

	*data = NULL;
	rc = pj_verify_ex(text, len, key, &pr, err);
	if (rc)
		goto out;
	if (pr.kind != PJ_INCLUSION) {
		rc = cu_err_set(err, CU_ECORRUPT, "not an inclusion proof");
		goto out;
	}
	if (pr.deleted) {
		rc = cu_err_set(err, CU_ECORRUPT, "proves a deleted record, which an export never holds");
		goto out;
	}
	if (pr.had_record) {
		rc = cu_err_set(err, CU_ECORRUPT, "has a \"record\" member, which custos never writes "
				"into a package");
		goto out;
	}
	rc = doc_fields(text, len, seq, leaf, data, dlen, &note, &root, err);
	if (rc)
		goto out;
	if (strlen(note) != checkpoint->len || memcmp(note, checkpoint->data, checkpoint->len)) {
		rc = cu_err_set(err, CU_ECORRUPT, "is proven against another checkpoint than %s",
				EXP_CHECKPOINT);
		goto out;
	}
out:
	json_decref(pr.record);
	json_decref(root);
	if (rc) {
		free(*data);
		*data = NULL;
	}
	return rc;
}

/* One line of proof/inclusion.jsonl. The same checks as pj_verify_ex
 * (docs/PROOFS.md), except that the checkpoint's signature is not checked
 * again for every line: the line must carry exactly the text of
 * proof/checkpoint.txt, whose signature was checked once (cp). That saves
 * an Ed25519 verification per record. */
static int check_line(const char *text, size_t len, const struct checkpoint *cp,
		      const struct buf *checkpoint, uint64_t *seq, uint8_t leaf[HASH_LEN], uint8_t **data,
		      size_t *dlen, struct cu_err *err)
{
	static const char *const keys[] = {"seq", "leaf_hash", "leaf_data", "tree_size", "root_hash",
					   "inclusion", "checkpoint"};
	uint8_t path[MT_MAX_PROOF][HASH_LEN], root[HASH_LEN], h[HASH_LEN];
	json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL), *v, *inc;
	const char *s1, *s2, *note;
	size_t i, n;
	int rc = 0;

	*data = NULL;
	if (!json_is_object(o)) {
		rc = cu_err_set(err, CU_ECORRUPT, "not a JSON object");
		goto out;
	}
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!json_object_get(o, keys[i])) {
			rc = cu_err_set(err, CU_ECORRUPT, "proof document has no \"%s\"", keys[i]);
			goto out;
		}
	if (json_object_size(o) != sizeof(keys) / sizeof(keys[0])) {
		rc = cu_err_set(err, CU_ECORRUPT, "has members no proof covers");
		goto out;
	}
	v = json_object_get(o, "seq");
	s1 = json_string_value(json_object_get(o, "leaf_hash"));
	s2 = json_string_value(json_object_get(o, "root_hash"));
	note = json_string_value(json_object_get(o, "checkpoint"));
	inc = json_object_get(o, "inclusion");
	if (!json_is_integer(v) || json_integer_value(v) < 0 || !s1 || !s2 || !note ||
	    !json_is_array(inc) || !json_is_integer(json_object_get(o, "tree_size")) ||
	    !json_is_string(json_object_get(o, "leaf_data")) ||
	    hex_decode(s1, strlen(s1), leaf, HASH_LEN) || hex_decode(s2, strlen(s2), root, HASH_LEN)) {
		rc = cu_err_set(err, CU_ECORRUPT, "a member has the wrong type");
		goto out;
	}
	*seq = (uint64_t)json_integer_value(v);
	if (strlen(note) != checkpoint->len || memcmp(note, checkpoint->data, checkpoint->len)) {
		rc = cu_err_set(err, CU_ECORRUPT, "is proven against another checkpoint than %s", EXP_CHECKPOINT);
		goto out;
	}
	if ((uint64_t)json_integer_value(json_object_get(o, "tree_size")) != cp->size ||
	    memcmp(root, cp->root, HASH_LEN)) {
		rc = cu_err_set(err, CU_ECRYPTO, "tree_size or root_hash is not the checkpoint's");
		goto out;
	}
	s1 = json_string_value(json_object_get(o, "leaf_data"));
	if (b64_decode(s1, strlen(s1), REC_MAX_BYTES, data, dlen) != 0) {
		rc = cu_err_set(err, CU_ECORRUPT, "leaf_data is not base64 of a record");
		goto out;
	}
	if (hash_leaf(*data, *dlen, h) != 0 || memcmp(h, leaf, HASH_LEN)) {
		rc = cu_err_set(err, CU_ECRYPTO, "leaf_data does not hash to leaf_hash");
		goto out;
	}
	n = json_array_size(inc);
	if (n > MT_MAX_PROOF) {
		rc = cu_err_set(err, CU_ECORRUPT, "more than %d proof hashes", MT_MAX_PROOF);
		goto out;
	}
	for (i = 0; i < n; i++) {
		const char *x = json_string_value(json_array_get(inc, i));

		if (!x || hex_decode(x, strlen(x), path[i], HASH_LEN)) {
			rc = cu_err_set(err, CU_ECORRUPT, "inclusion[%zu] is not 64 hex digits", i);
			goto out;
		}
	}
	if (*seq >= cp->size ||
	    mt_verify_inclusion(leaf, *seq, cp->size, (const uint8_t (*)[HASH_LEN])path, n, root) != 0)
		rc = cu_err_set(err, CU_ECRYPTO, "inclusion proof does not lead to root_hash");
out:
	json_decref(o);
	if (rc) {
		free(*data);
		*data = NULL;
	}
	return rc;
}

static int str_eq(const struct rec_str *s, const char *c)
{
	return s->len == strlen(c) && !memcmp(s->ptr, c, s->len);
}

/* The custody record: proven, an export request, its metadata. */
static int check_custody(struct vpkg *p, EVP_PKEY *key, struct exp_meta *meta, struct cu_err *err)
{
	struct rec_view v;
	struct cu_err inner;
	uint8_t leaf[HASH_LEN], *data = NULL;
	uint64_t seq = 0;
	size_t dlen = 0;
	char id[96], base[96];
	int rc;

	cu_err_clear(&inner);
	if (!p->custody.data) {
		rc = cu_err_set(err, CU_ECORRUPT, "%s%s: missing", p->bagit ? EXP_BAG_DATA : "",
				EXP_CUSTODY_PROOF);
		goto out;
	}
	rc = check_doc((const char *)p->custody.data, p->custody.len, key, &p->checkpoint, &seq, leaf,
		       &data, &dlen, &inner);
	if (!rc)
		rc = rec_decode(data, dlen, &v, &inner);
	if (!rc && (v.kind != REC_EXPORT || !str_eq(&v.f[RF_PLATFORM], EXP_PLATFORM)))
		rc = cu_err_set(&inner, CU_ECORRUPT, "its record is not an export request");
	if (!rc)
		rc = exp_meta_from_json(v.f[RF_META].ptr ? v.f[RF_META].ptr : "", v.f[RF_META].len, meta, &inner);
	if (rc) {
		rc = cu_err_set(err, rc == CU_ECRYPTO ? CU_ECRYPTO : CU_ECORRUPT, "%s%s: %s",
				p->bagit ? EXP_BAG_DATA : "", EXP_CUSTODY_PROOF, inner.msg);
		goto out;
	}
	snprintf(id, sizeof(id), "%s/request", meta->export_id);
	if (!str_eq(&v.f[RF_EVENT_ID], id) || !str_eq(&v.f[RF_SENDER], meta->by) ||
	    v.origin_ts != meta->created_ms) {
		rc = cu_err_set(err, CU_ECORRUPT, "%s: the custody record's fields disagree with its metadata",
				EXP_CUSTODY_PROOF);
		goto out;
	}
	meta->request_seq = seq;
	exp_base_dir(meta, base);
	if (strcmp(base, p->base)) {
		rc = cu_err_set(err, CU_ECORRUPT, "the package's top directory is %s, but export %s names it %s",
				p->base, meta->export_id, base);
		goto out;
	}
	if ((meta->format == EXP_BAGIT) != p->bagit) {
		rc = cu_err_set(err, CU_ECORRUPT, "the custody record says %s, but the package %s a BagIt bag",
				exp_format_name(meta->format), p->bagit ? "is" : "is not");
		goto out;
	}
	if (meta->container != p->container) {
		rc = cu_err_set(err, CU_ECORRUPT, "the custody record says a %s package, but this is a %s",
				exp_container_name(meta->container), exp_container_name(p->container));
		goto out;
	}
out:
	free(data);
	return rc;
}

/* Pass 2: proof/inclusion.jsonl, line by line. */
static int check_inclusions(struct vpkg *p, const struct vsrc *src, const struct checkpoint *cp,
			    struct exp_set *s, struct cu_err *err)
{
	char want[EXP_READ_MAX_PATH + 128], rel[64];
	struct archive *a = NULL;
	struct archive_entry *ae;
	struct cu_err inner;
	struct buf line;
	uint8_t *chunk = malloc(READ_CHUNK);
	unsigned long lineno = 0;
	int rc = 0, r, found = 0;

	buf_init(&line, PJ_MAX_DOC);
	exp_payload_path(p->bagit ? EXP_BAGIT : EXP_DAT, EXP_INCLUSION, rel, sizeof(rel));
	snprintf(want, sizeof(want), "%s/%s", p->base, rel);
	if (!find_member(p, rel)) {
		rc = cu_err_set(err, CU_ECORRUPT, "%s: missing", rel);
		goto out;
	}
	a = open_src(src, err);
	if (!a || !chunk) {
		rc = a ? cu_err_set(err, CU_ENOMEM, "out of memory") : CU_ECORRUPT;
		goto out;
	}
	while (!found && (r = archive_read_next_header(a, &ae)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname_utf8(ae);

		if (!name)
			name = archive_entry_pathname(ae);
		if (name && !strcmp(name, want) && archive_entry_filetype(ae) == AE_IFREG)
			found = 1;
	}
	if (!found) {
		rc = cu_err_set(err, CU_ECORRUPT, "%s: cannot be read again", rel);
		goto out;
	}
	for (;;) {
		la_ssize_t n = archive_read_data(a, chunk, READ_CHUNK);
		size_t off = 0;

		if (n < 0) {
			rc = cu_err_set(err, CU_ECORRUPT, "%s: cannot be read", rel);
			goto out;
		}
		if (n == 0)
			break;
		while (off < (size_t)n) {
			uint8_t *nl = memchr(chunk + off, '\n', (size_t)n - off), *data = NULL, leaf[HASH_LEN];
			size_t take = nl ? (size_t)(nl - (chunk + off)) : (size_t)n - off, dlen = 0;
			uint64_t seq = 0;

			if (buf_append(&line, chunk + off, take) != 0) {
				rc = cu_err_set(err, CU_ETOOBIG, "%s: line %lu is longer than %u bytes", rel,
						lineno + 1, PJ_MAX_DOC);
				goto out;
			}
			off += take;
			if (!nl)
				break;
			off++;
			lineno++;
			cu_err_clear(&inner);
			rc = check_line((const char *)line.data, line.len, cp, &p->checkpoint, &seq, leaf,
					&data, &dlen, &inner);
			if (!rc && s->n && seq <= s->recs[s->n - 1].seq)
				rc = cu_err_set(&inner, CU_ECORRUPT, "record %llu is not after record %llu "
						"(proofs must be in seq order, each record once)",
						(unsigned long long)seq,
						(unsigned long long)s->recs[s->n - 1].seq);
			if (!rc)
				rc = exp_set_add(s, seq, leaf, data, dlen, &inner);
			free(data);
			if (rc) {
				rc = cu_err_set(err, rc == CU_ECRYPTO ? CU_ECRYPTO : rc == CU_ETOOBIG ? CU_ETOOBIG
						: CU_ECORRUPT, "%s line %lu: %s", rel, lineno, inner.msg);
				goto out;
			}
			buf_reset(&line);
			if (p->progress && lineno % PROGRESS_EVERY == 0)
				p->progress(p->progress_arg, "proofs", lineno, s->meta.count);
		}
	}
	if (line.len)
		rc = cu_err_set(err, CU_ECORRUPT, "%s: the last line does not end with a newline", rel);
out:
	buf_release(&line);
	free(chunk);
	if (a)
		archive_read_free(a);
	return rc;
}

/* ---- rendering again ---- */

/* The sink that compares what the renderers produce with the package. */
struct vsink {
	struct exp_sink sink;     /* first member */
	struct vpkg *p;
	struct vmember *cur;      /* the member being compared, or NULL if missing */
	char path[EXP_READ_MAX_PATH];
	EVP_MD_CTX *md;
	uint64_t size;
};

static int vs_begin(struct exp_sink *s, const char *path, struct cu_err *err)
{
	struct vsink *v = (struct vsink *)s;

	snprintf(v->path, sizeof(v->path), "%s", path);
	v->cur = find_member(v->p, path);
	v->size = 0;
	if (!v->cur)
		return cu_err_set(err, CU_ECORRUPT, "%s: missing from the package (the proven records "
				  "produce it)", path);
	if (EVP_DigestInit_ex(v->md, EVP_sha256(), NULL) != 1)
		return cu_err_set(err, CU_ECRYPTO, "digest init failed");
	return 0;
}

static int vs_write(struct exp_sink *s, const void *p, size_t n, struct cu_err *err)
{
	struct vsink *v = (struct vsink *)s;

	v->size += n;
	if (EVP_DigestUpdate(v->md, p, n) != 1)
		return cu_err_set(err, CU_ECRYPTO, "hashing failed");
	return 0;
}

static int vs_end(struct exp_sink *s, struct cu_err *err)
{
	struct vsink *v = (struct vsink *)s;
	uint8_t d[32];
	unsigned int len;

	if (EVP_DigestFinal_ex(v->md, d, &len) != 1)
		return cu_err_set(err, CU_ECRYPTO, "hashing failed");
	if (v->size != v->cur->size || memcmp(d, v->cur->sha256, 32))
		return cu_err_set(err, CU_ECORRUPT, "%s: differs from what the proven records and the "
				  "custody record produce (its content was changed)", v->path);
	v->cur->seen = 1;
	return 0;
}

static int vs_oxum(struct exp_sink *s, uint64_t *bytes, uint64_t *files)
{
	struct vsink *v = (struct vsink *)s;
	size_t i;

	*bytes = *files = 0;
	for (i = 0; i < v->p->n; i++) {
		if (!exp_bag_is_payload(v->p->m[i].path))
			continue;
		*bytes += v->p->m[i].size;
		(*files)++;
	}
	return 0;
}

static void mark_seen(struct vpkg *p, const char *rel)
{
	struct vmember *m = find_member(p, rel);

	if (m)
		m->seen = 1;
}

static int check_rendered(struct vpkg *p, const struct exp_set *s, struct cu_err *err)
{
	static const char *const proofs[] = {EXP_PUB, EXP_CHECKPOINT, EXP_CUSTODY_PROOF, EXP_INCLUSION};
	struct vsink v;
	char rel[64];
	size_t i;
	int rc;

	memset(&v, 0, sizeof(v));
	v.sink.begin = vs_begin;
	v.sink.write = vs_write;
	v.sink.end = vs_end;
	v.sink.payload_oxum = vs_oxum;
	v.p = p;
	v.md = EVP_MD_CTX_new();
	if (!v.md)
		return cu_err_set(err, CU_ENOMEM, "out of memory");
	rc = exp_render_payload(s, &v.sink, err);
	if (rc)
		goto out;
	for (i = 0; i < sizeof(proofs) / sizeof(proofs[0]); i++) {
		exp_payload_path(s->meta.format, proofs[i], rel, sizeof(rel));
		mark_seen(p, rel);
	}
	mark_seen(p, EXP_SUMS);
	mark_seen(p, EXP_BAG_MANIFEST256);
	mark_seen(p, EXP_BAG_MANIFEST512);
	mark_seen(p, EXP_BAG_TAGMANIFEST);
	/* Added files first: one would also change bag-info's Payload-Oxum,
	 * and "an added file" says more than "bag-info.txt differs". */
	for (i = 0; i < p->n; i++) {
		if (!p->m[i].seen && !(s->meta.format == EXP_BAGIT && !strcmp(p->m[i].path, EXP_BAG_INFO))) {
			rc = cu_err_set(err, CU_ECORRUPT, "%s: not part of the export (an added file)",
					p->m[i].path);
			goto out;
		}
	}
	if (s->meta.format == EXP_BAGIT)
		rc = exp_render_bag_info(s, &v.sink, err);
out:
	EVP_MD_CTX_free(v.md);
	return rc;
}

/* ---- the whole check ---- */

static int verify_src(const struct vsrc *src, EVP_PKEY *pub, struct exp_verify_result *res,
		      exp_verify_progress_fn progress, void *progress_arg, struct cu_err *err)
{
	struct vpkg p;
	struct exp_set s;
	struct checkpoint cp;
	struct cu_err inner;
	EVP_PKEY *pkg_key = NULL, *key;
	uint8_t sel[HASH_LEN];
	char rel[64];
	int rc;

	memset(&p, 0, sizeof(p));
	exp_set_init(&s);
	if (res)
		memset(res, 0, sizeof(*res));
	p.progress = progress;
	p.progress_arg = progress_arg;
	cu_err_clear(&inner);
	rc = read_members(&p, src, err);
	if (!rc)
		rc = check_manifests(&p, err);
	if (rc)
		goto out;
	exp_payload_path(p.bagit ? EXP_BAGIT : EXP_DAT, EXP_PUB, rel, sizeof(rel));
	if (!p.pub.data || key_load_public_pem((const char *)p.pub.data, p.pub.len, &pkg_key, &inner) != 0) {
		rc = cu_err_set(err, CU_ECORRUPT, "%s: missing or not a public key%s%s", rel,
				inner.msg[0] ? ": " : "", inner.msg);
		goto out;
	}
	if (pub && EVP_PKEY_eq(pub, pkg_key) != 1) {
		rc = cu_err_set(err, CU_ECRYPTO, "%s is not the key given with --pubkey: this package "
				"was not made by that archive (or its key was replaced)", rel);
		goto out;
	}
	key = pub ? pub : pkg_key;
	exp_payload_path(p.bagit ? EXP_BAGIT : EXP_DAT, EXP_CHECKPOINT, rel, sizeof(rel));
	if (!p.checkpoint.data) {
		rc = cu_err_set(err, CU_ECORRUPT, "%s: missing", rel);
		goto out;
	}
	if (ckpt_verify((const char *)p.checkpoint.data, p.checkpoint.len, key, &cp, &inner) != 0) {
		rc = cu_err_set(err, CU_ECRYPTO, "%s: %s", rel, inner.msg);
		goto out;
	}
	rc = check_custody(&p, key, &s.meta, err);
	if (rc)
		goto out;
	snprintf(s.meta.origin, sizeof(s.meta.origin), "%s", cp.origin);
	s.meta.tree_size = cp.size;
	memcpy(s.meta.root, cp.root, HASH_LEN);
	if (exp_key_fingerprint(key, s.meta.key_fp) != 0) {
		rc = cu_err_set(err, CU_ECRYPTO, "cannot hash the key");
		goto out;
	}
	rc = check_inclusions(&p, src, &cp, &s, err);
	if (rc)
		goto out;
	if (exp_set_digest(&s, sel) != 0) {
		rc = cu_err_set(err, CU_ECRYPTO, "hashing failed");
		goto out;
	}
	if (s.n != s.meta.count || memcmp(sel, s.meta.selection, HASH_LEN)) {
		rc = cu_err_set(err, CU_ECORRUPT, "the proven records (%zu) are not the %llu the custody "
				"record selected: a record was added, removed or exchanged", s.n,
				(unsigned long long)s.meta.count);
		goto out;
	}
	rc = exp_set_decode(&s, err);
	if (rc)
		goto out;
	if (progress)
		progress(progress_arg, "checking", 0, s.n);
	rc = check_rendered(&p, &s, err);
	if (rc)
		goto out;
	if (res) {
		snprintf(res->export_id, sizeof(res->export_id), "%s", s.meta.export_id);
		res->format = s.meta.format;
		res->container = s.meta.container;
		res->records = s.n;
		res->files = p.n;
		res->tree_size = cp.size;
		res->request_seq = s.meta.request_seq;
		snprintf(res->origin, sizeof(res->origin), "%s", cp.origin);
		snprintf(res->by, sizeof(res->by), "%s", s.meta.by);
		memcpy(res->key_fingerprint, s.meta.key_fp, sizeof(res->key_fingerprint));
		res->key_from_package = pub == NULL;
	}
out:
	EVP_PKEY_free(pkg_key);
	exp_set_release(&s);
	vpkg_release(&p);
	return rc;
}

int exp_verify(const char *path, EVP_PKEY *pub, struct exp_verify_result *res,
	       exp_verify_progress_fn progress, void *progress_arg, struct cu_err *err)
{
	struct vsrc src = {path, NULL, 0};

	return verify_src(&src, pub, res, progress, progress_arg, err);
}

int exp_verify_buffer(const void *data, size_t len, EVP_PKEY *pub, struct exp_verify_result *res,
		      struct cu_err *err)
{
	struct vsrc src = {NULL, data, len};

	return verify_src(&src, pub, res, NULL, NULL, err);
}
