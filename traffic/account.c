/* The accounting of strait-traffic's client (account.h). */
#include "account.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void traffic_stats_init(struct traffic_stats *s)
{
	memset(s, 0, sizeof(*s));
}

void traffic_stats_free(struct traffic_stats *s)
{
	free(s->hosts);
	free(s->order);
	traffic_stats_init(s);
}

const struct traffic_host *traffic_stats_host(const struct traffic_stats *s,
					      const char *name)
{
	for (size_t i = 0; i < s->n_hosts; i++)
		if (strcmp(s->hosts[i].name, name) == 0)
			return &s->hosts[i];
	return NULL;
}

static bool same_name(const struct traffic_host *h,
		      const struct traffic_answer *a)
{
	return strlen(h->name) == a->name_len &&
	       memcmp(h->name, a->name, a->name_len) == 0;
}

/* The index of the host that a names, added if new. A linear search is
 * enough: it runs once per connection, on its first answer, and a run
 * meets a handful of hosts. */
static int host_index(struct traffic_stats *s, const struct traffic_answer *a)
{
	for (size_t i = 0; i < s->n_hosts; i++)
		if (same_name(&s->hosts[i], a))
			return (int)i;
	if (s->n_hosts == TRAFFIC_HOSTS_MAX)
		return -ENOSPC;
	if (s->n_hosts == s->cap_hosts) {
		size_t cap = s->cap_hosts ? s->cap_hosts * 2 : 8;
		struct traffic_host *h = realloc(s->hosts, cap * sizeof(*h));
		if (!h)
			return -ENOMEM;
		s->hosts = h;
		uint32_t *o = realloc(s->order, cap * sizeof(*o));
		if (!o)
			return -ENOMEM;
		s->order = o;
		s->cap_hosts = cap;
	}
	size_t n = s->n_hosts;
	struct traffic_host *h = &s->hosts[n];
	memset(h, 0, sizeof(*h));
	memcpy(h->name, a->name, a->name_len);
	/* Keep order sorted by name: an insertion, as rare as a new host. */
	size_t at = n;
	while (at > 0 && strcmp(s->hosts[s->order[at - 1]].name, h->name) > 0) {
		s->order[at] = s->order[at - 1];
		at--;
	}
	s->order[at] = (uint32_t)n;
	s->n_hosts++;
	return (int)n;
}

int traffic_conn_init(struct traffic_conn *c, uint32_t window)
{
	uint32_t w = 16;
	while (w < window && w < (1u << 30))
		w <<= 1;
	memset(c, 0, sizeof(*c));
	c->ring = calloc(w, sizeof(*c->ring));
	if (!c->ring)
		return -ENOMEM;
	c->window = w;
	c->host = -1;
	return 0;
}

void traffic_conn_free(struct traffic_conn *c)
{
	free(c->ring);
	c->ring = NULL;
	c->window = 0;
}

void traffic_conn_start(struct traffic_stats *s, struct traffic_conn *c,
			uint64_t now_ms)
{
	c->state = TRAFFIC_CONN_CONNECTING;
	c->host = -1;
	c->drops_in_row = 0;
	c->started_ms = now_ms;
	c->next_seq = 0;
	c->floor = 0;
	c->first_answered = 0;
	s->connections++;
}

void traffic_conn_established(struct traffic_conn *c)
{
	if (c->state == TRAFFIC_CONN_CONNECTING)
		c->state = TRAFFIC_CONN_OPEN;
}

int traffic_conn_send(struct traffic_stats *s, struct traffic_conn *c,
		      uint64_t now_ms, uint64_t *seq)
{
	if (c->state != TRAFFIC_CONN_OPEN && c->state != TRAFFIC_CONN_ANSWERED)
		return -ENOTCONN;
	if (c->next_seq - c->floor >= c->window)
		return -ENOBUFS;
	struct traffic_pending *p = &c->ring[c->next_seq & (c->window - 1)];
	p->seq = c->next_seq;
	p->sent_ms = now_ms;
	p->answered = false;
	*seq = c->next_seq++;
	s->sent++;
	return 0;
}

/* Moves the floor past answered requests. */
static void advance(struct traffic_conn *c)
{
	while (c->floor < c->next_seq &&
	       c->ring[c->floor & (c->window - 1)].answered)
		c->floor++;
}

/* Counts the requests still in flight as dropped and empties the ring. */
static void drop_all(struct traffic_stats *s, struct traffic_conn *c)
{
	for (uint64_t q = c->floor; q < c->next_seq; q++)
		if (!c->ring[q & (c->window - 1)].answered)
			s->dropped++;
	c->floor = c->next_seq;
}

/* Ends the connection: a loss charged to its host after its first
 * answer, a failed connect before it. */
static void end(struct traffic_stats *s, struct traffic_conn *c)
{
	drop_all(s, c);
	if (c->state == TRAFFIC_CONN_ANSWERED) {
		struct traffic_host *h = &s->hosts[c->host];
		h->lasting--;
		h->lost++;
		s->connected--;
		s->lost++;
	} else if (c->state != TRAFFIC_CONN_IDLE) {
		s->failed_connects++;
	}
	c->state = TRAFFIC_CONN_IDLE;
	c->host = -1;
}

int traffic_conn_answer(struct traffic_stats *s, struct traffic_conn *c,
			const struct traffic_answer *a)
{
	if (c->state != TRAFFIC_CONN_OPEN && c->state != TRAFFIC_CONN_ANSWERED)
		return TRAFFIC_ANSWER_STALE;
	if (a->seq < c->floor || a->seq >= c->next_seq)
		return TRAFFIC_ANSWER_STALE;
	struct traffic_pending *p = &c->ring[a->seq & (c->window - 1)];
	if (p->seq != a->seq || p->answered)
		return TRAFFIC_ANSWER_STALE;

	int moved = 0;
	if (c->state == TRAFFIC_CONN_OPEN) {
		int h = host_index(s, a);
		if (h < 0)
			return h;
		c->host = h;
		c->state = TRAFFIC_CONN_ANSWERED;
		c->first_answered = a->seq;
		s->hosts[h].connections++;
		s->hosts[h].lasting++;
		s->connected++;
	} else if (!same_name(&s->hosts[c->host], a)) {
		moved = 1;
	}
	/* drops_in_row is left to traffic_conn_expire, which walks the
	 * requests in sequence order: a late answer to a later request must
	 * not hide drops before it. */
	p->answered = true;
	s->received++;
	if (a->intact)
		s->intact++;
	else
		s->corrupt++;
	advance(c);
	if (!moved)
		return TRAFFIC_ANSWER_OK;
	s->moved++;
	end(s, c);
	return TRAFFIC_ANSWER_MOVED;
}

int traffic_conn_expire(struct traffic_stats *s, struct traffic_conn *c,
			uint64_t now_ms, uint64_t timeout_ms)
{
	if (c->state == TRAFFIC_CONN_IDLE)
		return 0;
	if (c->state == TRAFFIC_CONN_CONNECTING) {
		if (now_ms - c->started_ms < timeout_ms)
			return 0;
		end(s, c);
		return 1;
	}
	while (c->floor < c->next_seq) {
		struct traffic_pending *p =
		    &c->ring[c->floor & (c->window - 1)];
		if (!p->answered) {
			if (now_ms - p->sent_ms < timeout_ms)
				break;
			s->dropped++;
			/* Drops before the first answered request belong to
			 * the connect: they end a flow only while it is still
			 * unanswered (a failed connect), never an answered
			 * one (a loss). */
			if (c->state == TRAFFIC_CONN_OPEN ||
			    c->floor > c->first_answered)
				c->drops_in_row++;
		} else {
			/* Drops in a row are counted in sequence order,
			 * whatever order the answers came in. */
			c->drops_in_row = 0;
		}
		c->floor++;
		if (c->drops_in_row >= TRAFFIC_DROPS_LOST) {
			end(s, c);
			return 1;
		}
	}
	return 0;
}

void traffic_conn_fail(struct traffic_stats *s, struct traffic_conn *c)
{
	end(s, c);
}

void traffic_conn_finish(struct traffic_conn *c)
{
	c->state = TRAFFIC_CONN_IDLE;
	c->host = -1;
	c->floor = c->next_seq;
}

uint64_t traffic_conn_in_flight(const struct traffic_conn *c)
{
	return c->next_seq - c->floor;
}
