/* How the strait-target commands print. See print.h. */
#include "print.h"

#include <errno.h>
#include <string.h>

#include "json.h"

static const char *str(const char *s)
{
	return s ? s : "";
}

static int list(struct buf *out, const char *label, char **v, size_t n)
{
	int rc = buf_printf(out, "  %-9s", label);
	for (size_t i = 0; !rc && i < n; i++)
		rc = buf_printf(out, " %s", str(v[i]));
	if (!rc && n == 0)
		rc = buf_puts(out, " -");
	return rc ? rc : buf_putc(out, '\n');
}

static bool of(const Target__StreamState *s, const Target__ConduitState *c)
{
	return s->stream && strcmp(str(s->stream->trench), str(c->trench)) == 0 &&
	       strcmp(str(s->stream->conduit), str(c->conduit)) == 0;
}

static int stream_line(struct buf *out, const Target__StreamState *s)
{
	int rc = buf_printf(out, "  stream %s  %s", str(s->stream->stream),
			    str(s->state));
	if (!rc && s->identifier)
		rc = buf_printf(out, "  identifier %u", s->identifier);
	if (!rc && s->error && s->error[0])
		rc = buf_printf(out, "  (%s)", s->error);
	return rc ? rc : buf_putc(out, '\n');
}

int tgt_print_status(const Target__StatusResponse *r, struct buf *out)
{
	int rc = buf_printf(out, "pod %s: NSP %s, %zu stream(s), change %llu\n",
			    str(r->pod),
			    r->nsp_connected ? "connected" : "not connected",
			    r->n_streams, (unsigned long long)r->changes);
	for (size_t i = 0; !rc && i < r->n_conduits; i++) {
		const Target__ConduitState *c = r->conduits[i];
		rc = buf_printf(out, "conduit %s/%s: %s, table %u, proxy %s\n",
				str(c->trench), str(c->conduit),
				c->attached ? "attached" : "not attached",
				c->table, str(c->proxy));
		if (!rc)
			rc = list(out, "ips", c->ips, c->n_ips);
		if (!rc)
			rc = list(out, "gateways", c->gateways, c->n_gateways);
		if (!rc)
			rc = list(out, "vips", c->vips, c->n_vips);
		for (size_t j = 0; !rc && j < r->n_streams; j++)
			if (of(r->streams[j], c))
				rc = stream_line(out, r->streams[j]);
	}
	return rc;
}

static void strings(struct json *j, const char *key, char **v, size_t n)
{
	json_key(j, key);
	json_array_begin(j);
	for (size_t i = 0; i < n; i++)
		json_string(j, str(v[i]));
	json_array_end(j);
}

static void key_fields(struct json *j, const Target__StreamKey *k)
{
	json_key(j, "trench");
	json_string(j, k ? str(k->trench) : "");
	json_key(j, "conduit");
	json_string(j, k ? str(k->conduit) : "");
	json_key(j, "stream");
	json_string(j, k ? str(k->stream) : "");
}

static int finish(struct json *j, struct buf *out)
{
	int rc = json_finish(j);
	return rc ? rc : buf_putc(out, '\n');
}

int tgt_print_status_json(const Target__StatusResponse *r, bool pretty,
			  struct buf *out)
{
	struct json j;
	json_init(&j, out, pretty ? JSON_PRETTY : 0);
	json_object_begin(&j);
	json_key(&j, "pod");
	json_string(&j, str(r->pod));
	json_key(&j, "nsp_connected");
	json_bool(&j, r->nsp_connected);
	json_key(&j, "changes");
	json_uint(&j, r->changes);
	json_key(&j, "conduits");
	json_array_begin(&j);
	for (size_t i = 0; i < r->n_conduits; i++) {
		const Target__ConduitState *c = r->conduits[i];
		json_object_begin(&j);
		json_key(&j, "trench");
		json_string(&j, str(c->trench));
		json_key(&j, "conduit");
		json_string(&j, str(c->conduit));
		json_key(&j, "proxy");
		json_string(&j, str(c->proxy));
		json_key(&j, "attached");
		json_bool(&j, c->attached);
		strings(&j, "ips", c->ips, c->n_ips);
		strings(&j, "gateways", c->gateways, c->n_gateways);
		strings(&j, "vips", c->vips, c->n_vips);
		json_key(&j, "table");
		json_uint(&j, c->table);
		json_object_end(&j);
	}
	json_array_end(&j);
	json_key(&j, "streams");
	json_array_begin(&j);
	for (size_t i = 0; i < r->n_streams; i++) {
		const Target__StreamState *s = r->streams[i];
		json_object_begin(&j);
		json_key(&j, "stream");
		json_object_begin(&j);
		key_fields(&j, s->stream);
		json_object_end(&j);
		json_key(&j, "identifier");
		json_uint(&j, s->identifier);
		json_key(&j, "state");
		json_string(&j, str(s->state));
		json_key(&j, "error");
		json_string(&j, str(s->error));
		json_object_end(&j);
	}
	json_array_end(&j);
	json_object_end(&j);
	return finish(&j, out);
}

int tgt_print_open(const Target__StreamKey *k, const Target__OpenResponse *r,
		   struct buf *out)
{
	int rc = buf_printf(out, "opened %s/%s/%s: identifier %u, ips",
			    str(k->trench), str(k->conduit), str(k->stream),
			    r->identifier);
	for (size_t i = 0; !rc && i < r->n_ips; i++)
		rc = buf_printf(out, " %s", str(r->ips[i]));
	return rc ? rc : buf_putc(out, '\n');
}

int tgt_print_open_json(const Target__StreamKey *k,
			const Target__OpenResponse *r, struct buf *out)
{
	struct json j;
	json_init(&j, out, 0);
	json_object_begin(&j);
	key_fields(&j, k);
	json_key(&j, "identifier");
	json_uint(&j, r->identifier);
	strings(&j, "ips", r->ips, r->n_ips);
	json_object_end(&j);
	return finish(&j, out);
}

int tgt_print_close(const Target__StreamKey *k, const Target__CloseResponse *r,
		    struct buf *out)
{
	if (r->existed)
		return buf_printf(out, "closed %s/%s/%s\n", str(k->trench),
				  str(k->conduit), str(k->stream));
	return buf_printf(out, "%s/%s/%s was not open\n", str(k->trench),
			  str(k->conduit), str(k->stream));
}

int tgt_print_close_json(const Target__StreamKey *k,
			 const Target__CloseResponse *r, struct buf *out)
{
	struct json j;
	json_init(&j, out, 0);
	json_object_begin(&j);
	key_fields(&j, k);
	json_key(&j, "existed");
	json_bool(&j, r->existed);
	json_object_end(&j);
	return finish(&j, out);
}
