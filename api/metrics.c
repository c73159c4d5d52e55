/* metrics.c - GET /metrics: counters and the Prometheus text exposition format
 * (https://prometheus.io/docs/instrumenting/exposition_formats/). The
 * metric names are listed in docs/API.md "Metrics". */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "api/api_int.h"
#include "api/handlers.h"
#include "api/search_index.h"
#include "common/timeutil.h"

/* Status codes with their own counter slot; the last slot is "other". */
static const unsigned status_slots[API_NSTATUS - 1] = {
	200, 201, 202, 400, 401, 403, 404, 405, 409, 413, 429, 431, 500, 503, 0,
};

/* Upper bounds of the latency buckets, in microseconds. */
static const uint64_t bucket_us[API_NBUCKETS] = {
	500, 1000, 2000, 5000, 10000, 20000, 50000, 100000, 200000, 500000,
	1000000, 2000000, 5000000, 10000000,
};

static size_t status_slot(unsigned status)
{
	size_t i;

	for (i = 0; i < API_NSTATUS - 1 && status_slots[i]; i++)
		if (status_slots[i] == status)
			return i;
	return API_NSTATUS - 1;
}

void api_metrics_count(struct api_metrics *m, size_t route_idx, unsigned status, uint64_t dur_ns)
{
	uint64_t us = dur_ns / 1000;
	size_t b;

	if (route_idx > api_nroutes)
		route_idx = api_nroutes;
	atomic_fetch_add_explicit(&m->requests[route_idx][status_slot(status)], 1, memory_order_relaxed);
	for (b = 0; b < API_NBUCKETS && us > bucket_us[b]; b++)
		;
	atomic_fetch_add_explicit(&m->dur_bucket[route_idx][b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&m->dur_sum_us[route_idx], us, memory_order_relaxed);
}

static const char *route_label(size_t i)
{
	return i < api_nroutes ? api_routes[i].name : "none";
}

static long rss_bytes(void)
{
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f)
		return -1;
	if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
		rss = -1;
	fclose(f);
	return rss < 0 ? -1 : rss * sysconf(_SC_PAGESIZE);
}

#define P(...)                                           \
	do {                                             \
		if ((rc = buf_printf(out, __VA_ARGS__))) \
			goto out;                        \
	} while (0)

int api_metrics_render(struct api_server *srv, struct buf *out)
{
	struct api_metrics *m = &srv->metrics;
	struct store_stats ss;
	struct cq_stats qs;
	size_t i, s, b;
	long long lag;
	long rss;
	int rc = 0;

	store_stats(srv->st, &ss);
	cq_get_stats(srv->cq, &qs);

	P("# HELP custos_http_requests_total HTTP requests answered, by route and status.\n");
	P("# TYPE custos_http_requests_total counter\n");
	for (i = 0; i <= api_nroutes; i++)
		for (s = 0; s < API_NSTATUS; s++) {
			uint64_t n = atomic_load_explicit(&m->requests[i][s], memory_order_relaxed);

			if (!n)
				continue;
			if (s < API_NSTATUS - 1 && status_slots[s])
				P("custos_http_requests_total{route=\"%s\",status=\"%u\"} %llu\n", route_label(i),
				  status_slots[s], (unsigned long long)n);
			else
				P("custos_http_requests_total{route=\"%s\",status=\"other\"} %llu\n", route_label(i),
				  (unsigned long long)n);
		}

	P("# HELP custos_http_request_duration_seconds Time from the request's headers to its reply being queued.\n");
	P("# TYPE custos_http_request_duration_seconds histogram\n");
	for (i = 0; i <= api_nroutes; i++) {
		uint64_t cum = 0, total = 0;

		for (b = 0; b <= API_NBUCKETS; b++)
			total += atomic_load_explicit(&m->dur_bucket[i][b], memory_order_relaxed);
		if (!total)
			continue;
		for (b = 0; b < API_NBUCKETS; b++) {
			cum += atomic_load_explicit(&m->dur_bucket[i][b], memory_order_relaxed);
			P("custos_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
			  route_label(i), (double)bucket_us[b] / 1e6, (unsigned long long)cum);
		}
		P("custos_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n", route_label(i),
		  (unsigned long long)total);
		P("custos_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n", route_label(i),
		  (double)atomic_load_explicit(&m->dur_sum_us[i], memory_order_relaxed) / 1e6);
		P("custos_http_request_duration_seconds_count{route=\"%s\"} %llu\n", route_label(i),
		  (unsigned long long)total);
	}

	P("# HELP custos_ingest_requests_total Ingest requests acknowledged (records durable).\n");
	P("# TYPE custos_ingest_requests_total counter\n");
	P("custos_ingest_requests_total %llu\n", (unsigned long long)atomic_load(&m->ingest_requests));
	P("# HELP custos_ingest_records_total Records received by the ingest endpoints, by outcome of their commit.\n");
	P("# TYPE custos_ingest_records_total counter\n");
	P("custos_ingest_records_total{result=\"accepted\"} %llu\n", (unsigned long long)atomic_load(&m->ingest_accepted));
	P("custos_ingest_records_total{result=\"duplicate\"} %llu\n", (unsigned long long)atomic_load(&m->ingest_duplicates));
	P("custos_ingest_records_total{result=\"rejected\"} %llu\n", (unsigned long long)atomic_load(&m->ingest_rejected));

	P("# HELP custos_commits_total Group commits (one frame, one fsync each).\n");
	P("# TYPE custos_commits_total counter\n");
	P("custos_commits_total %llu\n", (unsigned long long)qs.commits);
	P("# HELP custos_commit_failures_total Group commits that failed (nothing of them acknowledged).\n");
	P("# TYPE custos_commit_failures_total counter\n");
	P("custos_commit_failures_total %llu\n", (unsigned long long)qs.failed_commits);
	P("# HELP custos_commit_records_total Records in successful group commits.\n");
	P("# TYPE custos_commit_records_total counter\n");
	P("custos_commit_records_total %llu\n", (unsigned long long)qs.records);
	P("# HELP custos_commit_seconds_total Time spent writing and fsyncing commits.\n");
	P("# TYPE custos_commit_seconds_total counter\n");
	P("custos_commit_seconds_total %.6f\n", (double)qs.commit_ns_total / 1e9);
	P("# HELP custos_ingest_throttled_seconds_total Time messenger ingest waited for the search index.\n");
	P("# TYPE custos_ingest_throttled_seconds_total counter\n");
	P("custos_ingest_throttled_seconds_total %.6f\n", (double)qs.throttled_ns_total / 1e9);
	P("# HELP custos_commit_pending_records Records waiting for the next commit.\n");
	P("# TYPE custos_commit_pending_records gauge\n");
	P("custos_commit_pending_records %llu\n", (unsigned long long)qs.pending_records);
	P("# HELP custos_commit_rejected_total Submissions refused because too much was waiting (429).\n");
	P("# TYPE custos_commit_rejected_total counter\n");
	P("custos_commit_rejected_total %llu\n", (unsigned long long)qs.rejected);

	P("# HELP custos_audit_records_total Audit records made durable for requests by persons.\n");
	P("# TYPE custos_audit_records_total counter\n");
	P("custos_audit_records_total %llu\n", (unsigned long long)atomic_load(&m->audit_records));
	P("# HELP custos_audit_failures_total Requests answered 503 because their audit record failed.\n");
	P("# TYPE custos_audit_failures_total counter\n");
	P("custos_audit_failures_total %llu\n", (unsigned long long)atomic_load(&m->audit_failures));
	P("# HELP custos_auth_failures_total Requests with a missing or unknown bearer token.\n");
	P("# TYPE custos_auth_failures_total counter\n");
	P("custos_auth_failures_total %llu\n", (unsigned long long)atomic_load(&m->auth_failures));

	P("# HELP custos_store_records Records in the archive (the tree size).\n");
	P("# TYPE custos_store_records gauge\n");
	P("custos_store_records %llu\n", (unsigned long long)ss.records);
	P("# HELP custos_store_segments Segment files.\n");
	P("# TYPE custos_store_segments gauge\n");
	P("custos_store_segments %llu\n", (unsigned long long)ss.segments);
	P("# HELP custos_store_segment_bytes Bytes in segment files.\n");
	P("# TYPE custos_store_segment_bytes gauge\n");
	P("custos_store_segment_bytes %llu\n", (unsigned long long)ss.segment_bytes);
	P("# HELP custos_store_fsyncs_total fsync calls by the store in this process.\n");
	P("# TYPE custos_store_fsyncs_total counter\n");
	P("custos_store_fsyncs_total %llu\n", (unsigned long long)ss.fsyncs);

	lag = api_search_lag(srv);
	if (lag >= 0) {
		P("# HELP custos_index_lag_records Records in the archive not yet in the search index.\n");
		P("# TYPE custos_index_lag_records gauge\n");
		P("custos_index_lag_records %lld\n", lag);
	}

	P("# HELP custos_http_inflight_requests Requests being processed.\n");
	P("# TYPE custos_http_inflight_requests gauge\n");
	P("custos_http_inflight_requests %lld\n", (long long)atomic_load(&m->inflight));
	P("# HELP custos_uptime_seconds Seconds since the server started.\n");
	P("# TYPE custos_uptime_seconds gauge\n");
	P("custos_uptime_seconds %.3f\n", (double)(time_now_ms() - srv->started_ms) / 1e3);
	rss = rss_bytes();
	if (rss >= 0) {
		P("# HELP process_resident_memory_bytes Resident memory size in bytes.\n");
		P("# TYPE process_resident_memory_bytes gauge\n");
		P("process_resident_memory_bytes %ld\n", rss);
	}
out:
	return rc;
}

int h_metrics(struct api_req *r)
{
	if (api_metrics_render(r->srv, &r->out) != 0) {
		api_reply_error(r, 500, "internal", "metrics could not be rendered");
		return 0;
	}
	r->status = 200;
	r->ctype = "text/plain; version=0.0.4; charset=utf-8";
	return 0;
}
