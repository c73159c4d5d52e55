/* envelope.c - generic JSON envelope -> record, with jansson. */
#include "archiver/envelope.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/timeutil.h"

/* Kinds a source may declare; the archive's own kinds are not allowed. */
static const struct {
	const char *name;
	uint8_t kind;
} env_kinds[] = {
	{"message", REC_MESSAGE},   {"edit", REC_EDIT},
	{"redaction", REC_REDACTION}, {"reaction", REC_REACTION},
	{"membership", REC_MEMBERSHIP}, {"state", REC_STATE},
	{"attachment", REC_ATTACHMENT}, {"other", REC_OTHER},
};

void env_release(struct env_msg *m)
{
	json_decref(m->root);
	free(m->recipients);
	free(m->payload);
	memset(m, 0, sizeof(*m));
}

/* A required or optional string member; integers are accepted for ids. */
static int get_str(json_t *root, const char *key, int required, int allow_int,
		   struct rec_view *v, enum rec_field f, struct cu_err *err)
{
	json_t *j = json_object_get(root, key);

	if (!j || json_is_null(j)) {
		if (required)
			return cu_err_set(err, CU_EINVAL, "field '%s': missing", key);
		return 0;
	}
	if (allow_int && json_is_integer(j)) {
		/* Replace the integer by its decimal text so the record stores a string. */
		char num[32];
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(j));
		if (json_object_set_new(root, key, json_string(num)) != 0)
			return cu_err_set(err, CU_ENOMEM, "out of memory");
		j = json_object_get(root, key);
	}
	if (!json_is_string(j))
		return cu_err_set(err, CU_EINVAL, "field '%s': expected a string", key);
	if (required && json_string_length(j) == 0 && f != RF_BODY)
		return cu_err_set(err, CU_EINVAL, "field '%s': must not be empty", key);
	v->f[f].ptr = json_string_value(j);
	v->f[f].len = json_string_length(j);
	return 0;
}

static int get_ts(json_t *root, struct rec_view *v, struct cu_err *err)
{
	json_t *j = json_object_get(root, "ts");

	if (!j)
		return cu_err_set(err, CU_EINVAL, "field 'ts': missing");
	if (json_is_integer(j)) {
		if (json_integer_value(j) < 0)
			return cu_err_set(err, CU_EINVAL, "field 'ts': negative timestamp");
		v->origin_ts = (int64_t)json_integer_value(j);
		return 0;
	}
	if (json_is_string(j) && time_parse_rfc3339(json_string_value(j), &v->origin_ts) == 0)
		return 0;
	return cu_err_set(err, CU_EINVAL,
			  "field 'ts': expected integer milliseconds or an RFC 3339 timestamp");
}

static int get_kind(json_t *root, struct rec_view *v, struct cu_err *err)
{
	json_t *j = json_object_get(root, "kind");
	size_t i;

	v->kind = REC_MESSAGE;
	if (!j)
		return 0;
	if (json_is_string(j))
		for (i = 0; i < sizeof(env_kinds) / sizeof(env_kinds[0]); i++)
			if (!strcmp(json_string_value(j), env_kinds[i].name)) {
				v->kind = env_kinds[i].kind;
				return 0;
			}
	return cu_err_set(err, CU_EINVAL,
			  "field 'kind': expected one of message, edit, redaction, reaction, "
			  "membership, state, attachment, other");
}

static int get_recipients(json_t *root, struct env_msg *m, struct cu_err *err)
{
	json_t *j = json_object_get(root, "recipients"), *e;
	size_t i;

	if (!j || json_is_null(j))
		return 0;
	if (!json_is_array(j))
		return cu_err_set(err, CU_EINVAL, "field 'recipients': expected an array of strings");
	json_array_foreach(j, i, e)
		if (!json_is_string(e))
			return cu_err_set(err, CU_EINVAL,
					  "field 'recipients': element %zu is not a string", i);
	if (json_array_size(j) == 0)
		return 0;
	m->recipients = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII);
	if (!m->recipients)
		return cu_err_set(err, CU_ENOMEM, "out of memory");
	rec_set(&m->in.rec, RF_RECIPIENTS, m->recipients);
	return 0;
}

int env_parse(const char *text, size_t len, const char *source, const char *auth,
	      struct env_msg *m, struct cu_err *err)
{
	struct rec_view *v = &m->in.rec;
	json_error_t jerr;
	int rc;

	memset(m, 0, sizeof(*m));
	if (len > ENV_MAX_BYTES) {
		rc = cu_err_set(err, CU_ETOOBIG, "envelope of %zu bytes exceeds the cap of %u",
				len, ENV_MAX_BYTES);
		goto out;
	}
	m->root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!m->root) {
		rc = cu_err_set(err, CU_EINVAL, "invalid JSON at column %d: %s", jerr.column, jerr.text);
		goto out;
	}
	if (!json_is_object(m->root)) {
		rc = cu_err_set(err, CU_EINVAL, "expected a JSON object");
		goto out;
	}
	if ((rc = get_str(m->root, "platform", 1, 0, v, RF_PLATFORM, err)) ||
	    (rc = get_str(m->root, "conversation", 1, 0, v, RF_CONVERSATION, err)) ||
	    (rc = get_str(m->root, "sender", 1, 0, v, RF_SENDER, err)) ||
	    (rc = get_ts(m->root, v, err)) ||
	    (rc = get_str(m->root, "id", 1, 1, v, RF_EVENT_ID, err)) ||
	    (rc = get_str(m->root, "body", 1, 0, v, RF_BODY, err)) ||
	    (rc = get_str(m->root, "reply_to", 0, 1, v, RF_REPLY_TO, err)) ||
	    (rc = get_str(m->root, "thread", 0, 1, v, RF_THREAD, err)) ||
	    (rc = get_str(m->root, "target", 0, 1, v, RF_TARGET, err)) ||
	    (rc = get_kind(m->root, v, err)) ||
	    (rc = get_recipients(m->root, m, err)))
		goto out;
	m->payload = malloc(len ? len : 1);
	if (!m->payload) {
		rc = cu_err_set(err, CU_ENOMEM, "out of memory");
		goto out;
	}
	memcpy(m->payload, text, len);
	v->f[RF_PAYLOAD].ptr = m->payload;
	v->f[RF_PAYLOAD].len = len;
	/* No payload_type: absent means application/json (docs/FORMAT.md),
	 * which saves a field on every generic message. */
	rec_set(v, RF_SOURCE, source && *source ? source : "generic");
	rec_set(v, RF_AUTH, auth); /* REC_F_SIGNED is the caller's: only it knows what was verified */
	rc = 0;
out:
	if (rc)
		env_release(m);
	return rc;
}
