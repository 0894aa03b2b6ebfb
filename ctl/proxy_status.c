/* `proxy status`: one proxy.Local/Status call to strait-proxy's local
 * socket, printed as text or, with --json, as the whole message. The
 * command follows `lb status` (lb_status.c); see proxy_status.h for the
 * output. */
#include <string.h>

#include "command.h"
#include "json.h"
#include "oneshot.h"
#include "proxy_status.h"
#include "table.h"

#define STATUS_METHOD "proxy.Local/Status"

static const char *str(const char *s)
{
	return s ? s : "";
}

static void json_strings(struct json *j, const char *key, char *const *v,
			 size_t n)
{
	json_key(j, key);
	json_array_begin(j);
	for (size_t i = 0; i < n; i++)
		json_string(j, str(v[i]));
	json_array_end(j);
}

#define KS(j, k, v) (json_key(j, k), json_string(j, str(v)))
#define KB(j, k, v) (json_key(j, k), json_bool(j, v))

static void json_links(struct json *j, const char *key,
		       Proxy__Attachment *const *a, size_t n)
{
	json_key(j, key);
	json_array_begin(j);
	for (size_t i = 0; i < n; i++) {
		json_object_begin(j);
		KS(j, "name", a[i]->name);
		KS(j, "netns", a[i]->netns);
		KS(j, "bridgePort", a[i]->bridge_port);
		KS(j, "ifname", a[i]->ifname);
		json_strings(j, "ips", a[i]->ips, a[i]->n_ips);
		KS(j, "mac", a[i]->mac);
		KB(j, "up", a[i]->up);
		json_object_end(j);
	}
	json_array_end(j);
}

int ctl_proxy_status_json(struct buf *out, const Proxy__StatusResponse *r)
{
	struct json j;
	json_init(&j, out, JSON_PRETTY);
	json_object_begin(&j);
	KS(&j, "trench", r->trench);
	KS(&j, "conduit", r->conduit);
	KS(&j, "node", r->node);
	KS(&j, "bridge", r->bridge);
	json_strings(&j, "bridgeIps", r->bridge_ips, r->n_bridge_ips);
	json_links(&j, "pods", r->pods, r->n_pods);
	json_links(&j, "lbs", r->lbs, r->n_lbs);
	json_strings(&j, "nexthops4", r->nexthops4, r->n_nexthops4);
	json_strings(&j, "nexthops6", r->nexthops6, r->n_nexthops6);
	json_strings(&j, "vips", r->vips, r->n_vips);
	json_key(&j, "table");
	json_uint(&j, r->table);
	KB(&j, "nspConnected", r->nsp_connected);
	KB(&j, "ipamConnected", r->ipam_connected);
	KB(&j, "registered", r->registered);
	json_object_end(&j);
	int err = json_finish(&j);
	return err ? err : buf_putc(out, '\n');
}

/* A name, or "-" when it is empty. */
static int name(struct buf *out, const char *s)
{
	return ctl_put_text(out, *str(s) ? s : "-");
}

/* " a b c", or " none". */
static int words(struct buf *out, char *const *v, size_t n)
{
	int err = n ? 0 : buf_puts(out, " none");
	for (size_t i = 0; !err && i < n; i++) {
		err = buf_putc(out, ' ');
		if (!err)
			err = ctl_put_text(out, str(v[i]));
	}
	return err;
}

static int header(struct buf *out, const Proxy__StatusResponse *r)
{
	int err = buf_puts(out, "trench ");
	if (!err)
		err = name(out, r->trench);
	if (!err)
		err = buf_puts(out, ", conduit ");
	if (!err)
		err = name(out, r->conduit);
	if (!err)
		err = buf_puts(out, ", node ");
	if (!err)
		err = name(out, r->node);
	if (!err)
		err = buf_puts(out, "\nbridge ");
	if (!err)
		err = name(out, r->bridge);
	if (!err)
		err = buf_putc(out, ':');
	if (!err)
		err = words(out, r->bridge_ips, r->n_bridge_ips);
	if (!err)
		err = buf_printf(
		    out, "; egress table %u\nNSP %s; IPAM %s; %s\n", r->table,
		    r->nsp_connected ? "connected" : "NOT connected",
		    r->ipam_connected ? "connected" : "NOT connected",
		    r->registered ? "registered in NSP"
				  : "NOT registered in NSP");
	return err;
}

/* One row of an attachment table; the IPs joined with ','. */
static int add_link(struct ctl_table *t, const Proxy__Attachment *a)
{
	struct buf ips = {0};
	int err = 0;
	for (size_t i = 0; !err && i < a->n_ips; i++) {
		if (i)
			err = buf_putc(&ips, ',');
		if (!err)
			err = buf_puts(&ips, str(a->ips[i]));
	}
	if (!err) {
		const char *row[6] = {str(a->name),  buf_str(&ips),
				      str(a->mac),   str(a->bridge_port),
				      str(a->netns), a->up ? "yes" : "no"};
		err = ctl_table_add(t, row);
	}
	buf_free(&ips);
	return err;
}

/* "\nWHAT (N):\n" and the table, or "\nno WHAT\n". */
static int links(struct buf *out, const char *what, Proxy__Attachment *const *a,
		 size_t n)
{
	if (!n)
		return buf_printf(out, "\nno %s\n", what);
	int err = buf_printf(out, "\n%s (%zu):\n", what, n);
	struct ctl_table t;
	ctl_table_init(&t, 6);
	const char *head[6] = {"NAME",	      "IPS",   "MAC",
			       "BRIDGE-PORT", "NETNS", "UP"};
	if (!err)
		err = ctl_table_add(&t, head);
	for (size_t i = 0; !err && i < n; i++)
		err = add_link(&t, a[i]);
	if (!err)
		err = ctl_table_render(&t, out, "  ");
	ctl_table_free(&t);
	return err;
}

int ctl_proxy_status_text(struct buf *out, const Proxy__StatusResponse *r)
{
	int err = header(out, r);
	if (!err)
		err = links(out, "pods", r->pods, r->n_pods);
	if (!err)
		err = links(out, "LB links", r->lbs, r->n_lbs);
	if (!err)
		err = buf_puts(out, "\negress nexthops IPv4:");
	if (!err)
		err = words(out, r->nexthops4, r->n_nexthops4);
	if (!err)
		err = buf_puts(out, "\negress nexthops IPv6:");
	if (!err)
		err = words(out, r->nexthops6, r->n_nexthops6);
	if (!err)
		err = buf_puts(out, "\negress VIPs:");
	if (!err)
		err = words(out, r->vips, r->n_vips);
	if (!err)
		err = buf_putc(out, '\n');
	return err;
}

static int render(struct buf *out, const ProtobufCMessage *msg,
		  const struct ctl_args *a)
{
	const Proxy__StatusResponse *r = (const void *)msg;
	return a->json ? ctl_proxy_status_json(out, r)
		       : ctl_proxy_status_text(out, r);
}

static const struct ctl_oneshot status_cmd = {
    .what = "status",
    .method = STATUS_METHOD,
    .request = &proxy__status_request__descriptor,
    .reply = &proxy__status_response__descriptor,
    .render = render,
};

static void status_on_up(struct ctl_session *s)
{
	ctl_oneshot_on_up(s, &status_cmd);
}

const struct ctl_command ctl_proxy_status = {
    .init = ctl_oneshot_init,
    .on_up = status_on_up,
};
