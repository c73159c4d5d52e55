/* export.c - exp_run: selection, custody record, checkpoint, proofs,
 * package, "produced" record (export.h has the order and the why). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>
#include <openssl/x509.h>

#include "archiver/checkpoint.h"
#include "archiver/keys.h"
#include "archiver/proof_json.h"
#include "common/encode.h"
#include "common/timeutil.h"
#include "common/utf8.h"
#include "export/export_int.h"
#include "export/pkgfiles.h"

#define PROGRESS_EVERY 1024 /* records between progress calls while proving */

int exp_key_fingerprint(EVP_PKEY *key, char hex[65])
{
	unsigned char *der = NULL;
	uint8_t h[HASH_LEN];
	int len = i2d_PUBKEY(key, &der), rc;

	if (len <= 0)
		return CU_ECRYPTO;
	rc = hash_sha256(der, (size_t)len, h);
	OPENSSL_free(der);
	if (!rc)
		hex_encode(h, HASH_LEN, hex);
	return rc;
}

static int append_one(const struct exp_request *req, struct store_input *in, struct cu_err *err)
{
	if (req->append)
		return req->append(req->append_arg, in, 1, err);
	return store_append(req->st, in, 1, err);
}

static int check_request(const struct exp_request *req, struct cu_err *err)
{
	if (!req->st || !req->out_path || !*req->out_path)
		return cu_err_set(err, CU_EINVAL, "export: no archive or no output file");
	if (!req->by || !*req->by || strlen(req->by) > EXP_MAX_NAME)
		return cu_err_set(err, CU_EINVAL, "export: who asks (--by) must be 1 to %d bytes",
				  EXP_MAX_NAME);
	if (!exp_format_name(req->format) || !strcmp(exp_format_name(req->format), "?"))
		return cu_err_set(err, CU_EINVAL, "export: unknown format");
	if (req->container && req->container != EXP_ZIP && req->container != EXP_TAR)
		return cu_err_set(err, CU_EINVAL, "export: unknown container");
	if (req->query && (!*req->query || strlen(req->query) > EXP_MAX_QUERY))
		return cu_err_set(err, CU_EINVAL, "export: the query must be 1 to %d bytes", EXP_MAX_QUERY);
	if (req->conversation && (!*req->conversation || strlen(req->conversation) > EXP_MAX_NAME))
		return cu_err_set(err, CU_EINVAL, "export: the conversation must be 1 to %d bytes",
				  EXP_MAX_NAME);
	if (req->organization && strlen(req->organization) > EXP_MAX_NAME)
		return cu_err_set(err, CU_EINVAL, "export: the organization is longer than %d bytes",
				  EXP_MAX_NAME);
	/* Each of these is written into the export's record (and the
	 * package): strict UTF-8, or the record could not be built. */
	if (!utf8_valid_str(req->by) || !utf8_valid_str(req->query) || !utf8_valid_str(req->conversation) ||
	    !utf8_valid_str(req->organization))
		return cu_err_set(err, CU_EINVAL, "export: --by, the query, the conversation and the "
				  "organization must be valid UTF-8");
	if (!req->query && !req->conversation && req->from_ms == INT64_MIN && req->to_ms == INT64_MAX)
		return cu_err_set(err, CU_EINVAL,
				  "export: name what to export (a query, a conversation or a time range)");
	if (req->from_ms >= req->to_ms)
		return cu_err_set(err, CU_EINVAL, "export: the time range is empty");
	return 0;
}

static int dup_opt(const char *s, char **out)
{
	*out = NULL;
	if (!s)
		return 0;
	*out = strdup(s);
	return *out ? 0 : CU_ENOMEM;
}

/* Fills the custody metadata of the request (not yet count/selection). */
static int meta_from_request(const struct exp_request *req, struct exp_meta *m, struct cu_err *err)
{
	uint8_t rnd[4];
	char hex[9], stamp[32];
	struct tm tm;
	time_t t;

	memset(m, 0, sizeof(*m));
	m->version = EXP_META_VERSION;
	m->created_ms = time_now_ms();
	t = (time_t)(m->created_ms / 1000);
	if (!gmtime_r(&t, &tm) || RAND_bytes(rnd, sizeof(rnd)) != 1)
		return cu_err_set(err, CU_ECRYPTO, "export: no time or no random bytes");
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	hex_encode(rnd, sizeof(rnd), hex);
	snprintf(m->export_id, sizeof(m->export_id), "%s-%s", stamp, hex);
	m->format = req->format;
	m->container = req->container ? req->container : EXP_ZIP;
	m->has_from = req->from_ms != INT64_MIN;
	m->from_ms = m->has_from ? req->from_ms : 0;
	m->has_to = req->to_ms != INT64_MAX;
	m->to_ms = m->has_to ? req->to_ms : 0;
	if (dup_opt(req->by, &m->by) || dup_opt(req->query, &m->query) ||
	    dup_opt(req->conversation, &m->conversation) ||
	    dup_opt(req->organization ? req->organization : store_origin(req->st), &m->organization))
		return cu_err_set(err, CU_ENOMEM, "out of memory");
	snprintf(m->origin, sizeof(m->origin), "%s", store_origin(req->st));
	return 0;
}

/* The custody ("request") record: appended before the checkpoint is taken,
 * so the checkpoint proves it along with the exported records. */
static int append_request(const struct exp_request *req, struct exp_meta *m, struct cu_err *err)
{
	struct store_input in;
	char id[96], *meta = exp_meta_to_json(m), *body = NULL;
	int rc;

	if (!meta)
		return cu_err_set(err, CU_ENOMEM, "out of memory");
	if (asprintf(&body, "export %s requested by %s: %s of %llu record(s); query: %s", m->export_id,
		     m->by, exp_format_name(m->format), (unsigned long long)m->count,
		     m->query ? m->query : "(none)") < 0) {
		free(meta);
		return cu_err_set(err, CU_ENOMEM, "out of memory");
	}
	snprintf(id, sizeof(id), "%s/request", m->export_id);
	memset(&in, 0, sizeof(in));
	in.rec.kind = REC_EXPORT;
	in.rec.origin_ts = m->created_ms;
	rec_set(&in.rec, RF_PLATFORM, EXP_PLATFORM);
	rec_set(&in.rec, RF_SOURCE, EXP_SOURCE);
	rec_set(&in.rec, RF_SENDER, m->by);
	rec_set(&in.rec, RF_EVENT_ID, id);
	rec_set(&in.rec, RF_BODY, body);
	rec_set(&in.rec, RF_META, meta);
	rc = append_one(req, &in, err);
	if (!rc && in.duplicate)
		rc = cu_err_set(err, CU_ESTATE, "export id %s is already in the log", m->export_id);
	if (!rc)
		m->request_seq = in.seq;
	free(meta);
	free(body);
	return rc;
}

static int append_produced(const struct exp_request *req, const struct exp_meta *m,
			   const struct exp_result *res, struct cu_err *err)
{
	struct store_input in;
	char id[96], target[96], *meta = NULL, *body = NULL;
	json_t *o;
	int rc;

	o = json_object();
	if (!o || json_object_set_new(o, "custos_export", json_integer(m->version)) ||
	    json_object_set_new(o, "phase", json_string("produced")) ||
	    json_object_set_new(o, "export_id", json_string(m->export_id)) ||
	    json_object_set_new(o, "request_seq", json_integer((json_int_t)m->request_seq)) ||
	    json_object_set_new(o, "by", json_string(m->by)) ||
	    json_object_set_new(o, "query", m->query ? json_string(m->query) : json_null()) ||
	    json_object_set_new(o, "format", json_string(exp_format_name(m->format))) ||
	    json_object_set_new(o, "container", json_string(exp_container_name(m->container))) ||
	    json_object_set_new(o, "count", json_integer((json_int_t)m->count)) ||
	    json_object_set_new(o, "tree_size", json_integer((json_int_t)m->tree_size)) ||
	    json_object_set_new(o, "files", json_integer((json_int_t)res->files)) ||
	    json_object_set_new(o, "package_bytes", json_integer((json_int_t)res->package_bytes)) ||
	    json_object_set_new(o, "package_sha256", json_string(res->package_sha256)))
		goto nomem;
	meta = json_dumps(o, JSON_COMPACT);
	if (!meta || asprintf(&body, "export %s produced for %s: %s package of %llu record(s), %llu "
				     "bytes, SHA-256 %s", m->export_id, m->by,
			      exp_format_name(m->format), (unsigned long long)m->count,
			      (unsigned long long)res->package_bytes, res->package_sha256) < 0) {
		body = NULL;
		goto nomem;
	}
	snprintf(id, sizeof(id), "%s/produced", m->export_id);
	snprintf(target, sizeof(target), "%s/request", m->export_id);
	memset(&in, 0, sizeof(in));
	in.rec.kind = REC_EXPORT;
	in.rec.origin_ts = time_now_ms();
	rec_set(&in.rec, RF_PLATFORM, EXP_PLATFORM);
	rec_set(&in.rec, RF_SOURCE, EXP_SOURCE);
	rec_set(&in.rec, RF_SENDER, m->by);
	rec_set(&in.rec, RF_EVENT_ID, id);
	rec_set(&in.rec, RF_TARGET, target);
	rec_set(&in.rec, RF_BODY, body);
	rec_set(&in.rec, RF_META, meta);
	rc = append_one(req, &in, err);
	if (!rc)
		((struct exp_result *)res)->produced_seq = in.seq;
	goto out;
nomem:
	rc = cu_err_set(err, CU_ENOMEM, "out of memory");
out:
	json_decref(o);
	free(meta);
	free(body);
	return rc;
}

/* Writes one small file through the sink. */
static int put_small(struct exp_sink *sink, enum exp_format fmt, const char *rel, const char *text,
		     struct cu_err *err)
{
	struct exp_file f;
	char path[128];

	exp_payload_path(fmt, rel, path, sizeof(path));
	if (exp_file_open(&f, sink, path, err) != 0) {
		exp_file_abort(&f);
		return f.rc;
	}
	exp_file_puts(&f, text);
	return exp_file_close(&f);
}

/* The inclusion document of wanted record idx against the checkpoint,
 * compact, one line. */
static char *proof_line(struct exp_prover *pv, size_t idx, uint64_t seq, const uint8_t leaf[HASH_LEN],
			const uint8_t *bytes, size_t len, uint64_t n, const uint8_t root[HASH_LEN],
			const char *note, struct cu_err *err)
{
	uint8_t path[MT_MAX_PROOF][HASH_LEN];
	size_t count = 0;
	json_t *doc = NULL;
	char *text = NULL;

	if (exp_prover_path(pv, idx, path, &count, err) != 0 ||
	    pj_inclusion_build(seq, leaf, bytes, len, n, root, (const uint8_t (*)[HASH_LEN])path, count,
			       note, &doc, err) != 0)
		return NULL;
	text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	if (!text)
		cu_err_set(err, CU_ENOMEM, "out of memory");
	return text;
}

static int write_proofs(const struct exp_request *req, const struct exp_set *s, const char *note,
			const char *pem, struct exp_sink *sink, struct cu_err *err)
{
	const struct exp_meta *m = &s->meta;
	struct exp_prover *pv = NULL;
	struct store_entry e;
	struct exp_file f;
	struct buf rb;
	uint64_t *seqs = NULL;
	char path[128], *line = NULL;
	size_t i;
	int rc;

	buf_init(&rb, 1);
	/* The records' seqs, then the custody record's (appended after them). */
	seqs = malloc((s->n + 1) * sizeof(*seqs));
	if (!seqs) {
		rc = cu_err_set(err, CU_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < s->n; i++)
		seqs[i] = s->recs[i].seq;
	seqs[s->n] = m->request_seq;
	rc = exp_prover_new(req->st, m->tree_size, seqs, s->n + 1, -1, req->progress, req->progress_arg,
			    req->cancel, &pv, err);
	if (!rc)
		rc = put_small(sink, m->format, EXP_PUB, pem, err);
	if (!rc)
		rc = put_small(sink, m->format, EXP_CHECKPOINT, note, err);
	if (rc)
		goto out;
	/* The custody record's own proof. */
	rc = store_get(req->st, m->request_seq, &rb, &e, err);
	if (rc)
		goto out;
	line = proof_line(pv, s->n, m->request_seq, e.leaf, e.bytes, e.len, m->tree_size, m->root, note, err);
	if (!line) {
		rc = err && err->code ? err->code : CU_ENOMEM;
		goto out;
	}
	rc = put_small(sink, m->format, EXP_CUSTODY_PROOF, line, err);
	free(line);
	line = NULL;
	if (rc)
		goto out;
	exp_payload_path(m->format, EXP_INCLUSION, path, sizeof(path));
	if (exp_file_open(&f, sink, path, err) != 0) {
		exp_file_abort(&f);
		rc = f.rc;
		goto out;
	}
	for (i = 0; i < s->n && !f.rc; i++) {
		const struct exp_rec *r = &s->recs[i];

		line = proof_line(pv, i, r->seq, r->leaf, s->arena.data + r->off, r->len, m->tree_size,
				  m->root, note, err);
		if (!line) {
			f.rc = err && err->code ? err->code : CU_ENOMEM;
			break;
		}
		exp_file_puts(&f, line);
		exp_file_puts(&f, "\n");
		free(line);
		line = NULL;
		if ((i + 1) % PROGRESS_EVERY == 0) {
			if (req->progress)
				req->progress(req->progress_arg, "writing", i + 1, s->n);
			if (req->cancel && *req->cancel && !f.rc)
				f.rc = cu_err_set(err, CU_ESTATE, "export cancelled");
		}
	}
	if (f.rc) {
		rc = f.rc;
		exp_file_abort(&f);
		goto out;
	}
	rc = exp_file_close(&f);
out:
	exp_prover_free(pv);
	free(seqs);
	buf_release(&rb);
	return rc;
}

int exp_run(const struct exp_request *req, struct exp_result *res, struct cu_err *err)
{
	struct pkg_writer *w = NULL;
	struct checkpoint cp;
	struct exp_set s;
	char base[96], *note = NULL, *pem = NULL;
	uint64_t erasures = store_erasures(req->st), *seqs = NULL;
	int rc, listed = 0;
	size_t i;

	memset(res, 0, sizeof(*res));
	exp_set_init(&s);
	rc = check_request(req, err);
	if (rc)
		goto out;
	rc = meta_from_request(req, &s.meta, err);
	if (rc)
		goto out;
	rc = exp_select(req, &s, err);
	if (rc)
		goto out;
	if (!s.n) {
		rc = cu_err_set(err, CU_ENOTFOUND, "export: no record matches the selection%s",
				s.meta.skipped_deleted ? " (the matching records were deleted)" : "");
		goto out;
	}
	rc = exp_set_decode(&s, err);
	if (rc)
		goto out;
	s.meta.count = s.n;
	if (exp_set_digest(&s, s.meta.selection) != 0 ||
	    key_public_pem(store_key(req->st), &pem, err) != 0 ||
	    exp_key_fingerprint(store_key(req->st), s.meta.key_fp) != 0) {
		rc = cu_err_set(err, CU_ECRYPTO, "export: hashing or key failed");
		goto out;
	}
	/* The list of its records before the package: an erasure that
	 * sweeps the directory meanwhile finds the package by it (and its
	 * temporary file, which makes this export fail). */
	if (req->record_list) {
		struct stat sb;

		if (lstat(req->out_path, &sb) == 0) {
			rc = cu_err_set(err, CU_EEXIST, "%s exists: refusing to overwrite it", req->out_path);
			goto out;
		}
		seqs = malloc((s.n + 1) * sizeof(*seqs));
		if (!seqs) {
			rc = cu_err_set(err, CU_ENOMEM, "out of memory");
			goto out;
		}
		for (i = 0; i < s.n; i++)
			seqs[i] = s.recs[i].seq;
		rc = exp_pkg_list_write(req->out_path, req->at_rest, s.meta.created_ms, seqs, s.n, err);
		if (rc)
			goto out;
		listed = 1;
	}
	/* The package file first: a bad output path fails before the log
	 * records a request. */
	exp_base_dir(&s.meta, base);
	rc = pkg_writer_open(req->out_path, s.meta.container, base, s.meta.format == EXP_BAGIT,
			     s.meta.created_ms, req->at_rest, &w, err);
	if (rc)
		goto out;
	rc = append_request(req, &s.meta, err);
	if (rc)
		goto out;
	s.meta.tree_size = store_size(req->st);
	rc = store_checkpoint(req->st, s.meta.tree_size, &note, err);
	if (!rc)
		rc = ckpt_parse(note, strlen(note), &cp, err);
	if (rc)
		goto out;
	if (cp.size != s.meta.tree_size || s.meta.request_seq >= cp.size) {
		rc = cu_err_set(err, CU_ESTATE, "export: checkpoint of size %llu does not cover the custody record",
				(unsigned long long)cp.size);
		goto out;
	}
	memcpy(s.meta.root, cp.root, HASH_LEN);
	snprintf(s.meta.origin, sizeof(s.meta.origin), "%s", cp.origin);

	if (req->progress)
		req->progress(req->progress_arg, "writing", 0, s.n);
	rc = exp_render_payload(&s, pkg_writer_sink(w), err);
	if (!rc)
		rc = write_proofs(req, &s, note, pem, pkg_writer_sink(w), err);
	if (!rc && s.meta.format == EXP_BAGIT)
		rc = exp_render_bag_info(&s, pkg_writer_sink(w), err);
	if (!rc)
		rc = pkg_writer_finish(w, &s, err);
	if (rc)
		goto out;
	snprintf(res->export_id, sizeof(res->export_id), "%s", s.meta.export_id);
	res->records = s.n;
	res->skipped_deleted = s.meta.skipped_deleted;
	res->tree_size = s.meta.tree_size;
	res->request_seq = s.meta.request_seq;
	pkg_writer_digest(w, res->package_sha256, &res->package_bytes, &res->files);
	/* Records erased since the selection may be in the package; the
	 * erasure's sweep after store_erase removes packages linked before
	 * it finished, this check those linked after. */
	if (store_erasures(req->st) != erasures) {
		rc = cu_err_set(err, CU_ESTATE, "export: records were erased while the export ran; export again");
		goto out;
	}
	rc = append_produced(req, &s.meta, res, err);
	if (rc)
		goto out; /* a package the log does not account for must not leave: removed below */
	if (req->progress)
		req->progress(req->progress_arg, "writing", s.n, s.n);
out:
	pkg_writer_free(w);
	if (rc && (listed || (res->package_bytes && !res->produced_seq))) {
		struct cu_err rerr;

		if (listed) {
			/* the export's own error is the one reported */
			cu_err_clear(&rerr);
			if (exp_pkg_remove(req->out_path, &rerr) != 0 && err && !err->code)
				cu_err_set(err, rerr.code, "%s", rerr.msg);
		} else {
			unlink(req->out_path);
		}
	}
	free(seqs);
	free(note);
	free(pem);
	exp_set_release(&s);
	return rc;
}
