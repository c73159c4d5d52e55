/* conn_guard.c - the header deadline (conn_guard.h). */
#include "api/conn_guard.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "common/timeutil.h"

#define CG_TICK_MS 200 /* how often the watchdog looks: deadlines are met within this */

struct cg_conn {
	struct conn_guard *g;
	int fd;
	uint64_t deadline_ns;    /* monotonic; 0: none (a request is being served) */
	struct cg_conn *prev, *next;
};

struct conn_guard {
	pthread_mutex_t mu;      /* guards the list, every entry's deadline and stop */
	pthread_cond_t cv;       /* stop */
	struct cg_conn *head;
	uint64_t header_ns, idle_ns;
	int stop;
	pthread_t thread;
};

static void *watchdog(void *arg)
{
	struct conn_guard *g = arg;
	struct timespec until;
	struct cg_conn *c;
	uint64_t now;

	pthread_setname_np(pthread_self(), "custos-conns"); /* for top -H, ps -L */
	pthread_mutex_lock(&g->mu);
	while (!g->stop) {
		time_deadline_ms(&until, CG_TICK_MS);
		pthread_cond_timedwait(&g->cv, &g->mu, &until);
		now = time_mono_ns();
		for (c = g->head; c; c = c->next)
			if (c->deadline_ns && now > c->deadline_ns) {
				c->deadline_ns = 0; /* once: the worker closes it now */
				shutdown(c->fd, SHUT_RDWR);
			}
	}
	pthread_mutex_unlock(&g->mu);
	return NULL;
}

int cg_start(unsigned header_s, unsigned idle_s, struct conn_guard **out, struct cu_err *err)
{
	struct conn_guard *g = calloc(1, sizeof(*g));
	int rc;

	*out = NULL;
	if (!g)
		return cu_err_set(err, CU_ENOMEM, "out of memory");
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->cv, NULL);
	g->header_ns = (uint64_t)header_s * 1000000000ull;
	g->idle_ns = (uint64_t)(idle_s > header_s ? idle_s : header_s) * 1000000000ull;
	rc = pthread_create(&g->thread, NULL, watchdog, g);
	if (rc) {
		pthread_cond_destroy(&g->cv);
		pthread_mutex_destroy(&g->mu);
		free(g);
		return cu_err_errno(err, rc, "cannot start the connection watchdog");
	}
	*out = g;
	return 0;
}

void cg_stop(struct conn_guard *g)
{
	struct cg_conn *c;

	if (!g)
		return;
	pthread_mutex_lock(&g->mu);
	g->stop = 1;
	pthread_cond_signal(&g->cv);
	pthread_mutex_unlock(&g->mu);
	pthread_join(g->thread, NULL);
	while ((c = g->head)) { /* none after MHD_stop_daemon; to be safe */
		g->head = c->next;
		free(c);
	}
	pthread_cond_destroy(&g->cv);
	pthread_mutex_destroy(&g->mu);
	free(g);
}

void cg_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
	       enum MHD_ConnectionNotificationCode toe)
{
	struct conn_guard *g = cls;
	struct cg_conn *c = *socket_context;
	const union MHD_ConnectionInfo *fd;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		fd = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		c = calloc(1, sizeof(*c));
		if (!c || !fd) {
			/* Without an entry the connection has only libmicrohttpd's
			 * idle timeout; out of memory here is not worth a refusal. */
			free(c);
			return;
		}
		c->g = g;
		c->fd = fd->connect_fd;
		pthread_mutex_lock(&g->mu);
		c->deadline_ns = time_mono_ns() + g->header_ns;
		c->next = g->head;
		if (g->head)
			g->head->prev = c;
		g->head = c;
		pthread_mutex_unlock(&g->mu);
		*socket_context = c;
		return;
	}
	if (!c)
		return;
	pthread_mutex_lock(&g->mu);
	if (c->prev)
		c->prev->next = c->next;
	else
		g->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	pthread_mutex_unlock(&g->mu);
	free(c);
	*socket_context = NULL;
}

static void set_deadline(struct MHD_Connection *conn, int arm)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct cg_conn *c = ci ? ci->socket_context : NULL;

	if (!c)
		return;
	pthread_mutex_lock(&c->g->mu);
	c->deadline_ns = arm ? time_mono_ns() + c->g->idle_ns : 0;
	pthread_mutex_unlock(&c->g->mu);
}

void cg_headers_done(struct MHD_Connection *conn)
{
	set_deadline(conn, 0);
}

void cg_request_done(struct MHD_Connection *conn)
{
	set_deadline(conn, 1);
}
