/* Building a data plane. See plane.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "plane.h"

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void lb_plane_free(struct lb_plane *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_streams; i++) {
		free(p->streams[i].name);
		free(p->streams[i].conduit);
		maglev_free(p->streams[i].table);
	}
	free(p->streams);
	free(p->flow_stream);
	lb_flows_free(p->flows);
	free(p);
}

static int stream_index(const struct lb_plane_input *in, const char *name)
{
	for (size_t i = 0; i < in->n_streams; i++)
		if (strcmp(in->streams[i].name, name) == 0)
			return (int)i;
	return -1;
}

static int build_streams(const struct lb_plane_input *in, struct lb_plane *p,
			 char *err, size_t errlen)
{
	p->streams = calloc(in->n_streams ? in->n_streams : 1,
			    sizeof(*p->streams));
	if (!p->streams)
		return -ENOMEM;
	for (size_t i = 0; i < in->n_streams; i++) {
		const struct lb_plane_stream_input *si = &in->streams[i];
		struct lb_plane_stream *s = &p->streams[i];
		p->n_streams++;
		s->name = strdup(si->name);
		s->conduit = strdup(si->conduit ? si->conduit : "");
		if (!s->name || !s->conduit)
			return -ENOMEM;
		s->uid = si->uid;
		s->offset = si->offset;
		s->max_targets = si->max_targets;
		uint32_t m = si->table_size ? si->table_size :
			     maglev_default_size(si->max_targets);
		uint64_t t0 = now_ns();
		int rc = maglev_build(si->ids, si->n_ids, m, &s->table);
		s->build_ns = now_ns() - t0;
		if (rc == -EINVAL) {
			snprintf(err, errlen,
				 "stream \"%s\": a Maglev table of %u slots "
				 "cannot hold %zu targets (the size must be a "
				 "prime of at least the number of targets)",
				 si->name, m, si->n_ids);
			return rc;
		}
		if (rc < 0) {
			snprintf(err, errlen, "stream \"%s\": Maglev: %s",
				 si->name, strerror(-rc));
			return rc;
		}
	}
	return 0;
}

int lb_plane_build(const struct lb_plane_input *in, const struct lb_plane *old,
		   struct lb_plane **out, char *err, size_t errlen)
{
	struct lb_plane *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->generation = in->generation;

	/* Only our streams' flows go into the classifier: a packet of a
	 * flow another LB serves is not ours to place, so it is as if no
	 * flow matched. */
	Nsp__Flow **mine = calloc(in->n_flows ? in->n_flows : 1, sizeof(*mine));
	int rc = -ENOMEM;
	if (!mine)
		goto fail;
	size_t n = 0;
	for (size_t i = 0; i < in->n_flows; i++)
		if (stream_index(in, in->flows[i]->stream) >= 0)
			mine[n++] = in->flows[i];
	rc = lb_flows_build(mine, n, in->vips, in->n_vips, &p->flows, err,
			    errlen);
	free(mine);
	if (rc < 0)
		goto fail;
	lb_flows_carry_counters(p->flows, old ? old->flows : NULL);

	size_t nf = lb_flows_count(p->flows);
	p->flow_stream = calloc(nf ? nf : 1, sizeof(*p->flow_stream));
	rc = -ENOMEM;
	if (!p->flow_stream)
		goto fail;
	for (size_t i = 0; i < nf; i++)
		p->flow_stream[i] = stream_index(
		    in, lb_flow_stream(lb_flows_at(p->flows, i)));

	rc = build_streams(in, p, err, errlen);
	if (rc < 0)
		goto fail;
	*out = p;
	return 0;
fail:
	if (rc == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	lb_plane_free(p);
	return rc;
}

const struct lb_plane_stream *lb_plane_stream_by_uid(const struct lb_plane *p,
						     uint32_t uid)
{
	for (size_t i = 0; i < p->n_streams; i++)
		if (p->streams[i].uid == uid)
			return &p->streams[i];
	return NULL;
}
