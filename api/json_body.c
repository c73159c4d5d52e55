/* json_body.c - the request body as JSON, and typed optional members;
 * the replies they set are part of the API (docs/API.md). */
#include "api/json_body.h"

#include "api/api_int.h"

json_t *api_body_json(struct api_req *r)
{
	json_error_t jerr;
	json_t *j;

	j = json_loadb((const char *)r->body.data, r->body.len, JSON_REJECT_DUPLICATES, &jerr);
	if (!j)
		api_reply_error(r, 400, "bad_json", "invalid JSON: %s", jerr.text);
	return j;
}

/* The body as a JSON object; an empty body is {} when allow_empty. NULL
 * with a 400 reply set otherwise. */
json_t *api_body_object(struct api_req *r, int allow_empty)
{
	json_error_t jerr;
	json_t *j;

	if (!r->body.len) {
		if (allow_empty)
			return json_object();
		api_reply_error(r, 400, "bad_request", "a JSON object is required as the request body");
		return NULL;
	}
	j = json_loadb((const char *)r->body.data, r->body.len, JSON_REJECT_DUPLICATES, &jerr);
	if (!j || !json_is_object(j)) {
		api_reply_error(r, 400, "bad_request", "the body is not a JSON object%s%s", j ? "" : ": ",
				j ? "" : jerr.text);
		json_decref(j);
		return NULL;
	}
	return j;
}

/* Optional string member: 0 (*out NULL when absent or null), or CU_EINVAL
 * with a 400 reply. */
int api_json_opt_str(struct api_req *r, const json_t *o, const char *key, const char **out)
{
	const json_t *v = json_object_get(o, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		api_reply_error(r, 400, "bad_request", "'%s' must be a string", key);
		return CU_EINVAL;
	}
	*out = json_string_value(v);
	return 0;
}

/* Optional boolean member (def when absent). */
int api_json_opt_bool(struct api_req *r, const json_t *o, const char *key, int def, int *out)
{
	const json_t *v = json_object_get(o, key);

	*out = def;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_boolean(v)) {
		api_reply_error(r, 400, "bad_request", "'%s' must be true or false", key);
		return CU_EINVAL;
	}
	*out = json_is_true(v);
	return 0;
}

/* Optional array of strings, at most max: pointers into o. */
int api_json_opt_strs(struct api_req *r, const json_t *o, const char *key, const char **out, size_t max,
		      size_t *n)
{
	const json_t *v = json_object_get(o, key);
	size_t i;

	*n = 0;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_array(v) || json_array_size(v) > max) {
		api_reply_error(r, 400, "bad_request", "'%s' must be an array of at most %zu strings", key, max);
		return CU_EINVAL;
	}
	for (i = 0; i < json_array_size(v); i++) {
		if (!json_is_string(json_array_get(v, i))) {
			api_reply_error(r, 400, "bad_request", "'%s' must hold strings only", key);
			return CU_EINVAL;
		}
		out[i] = json_string_value(json_array_get(v, i));
	}
	*n = i;
	return 0;
}
