/* The trench configuration (proto/nsp.proto ConfigResponse) as straitctl
 * prints it: text sections of aligned tables, or one JSON object.
 *
 * JSON keys are the proto's field names; every field is always present,
 * lists as arrays (possibly empty):
 *	{"revision":N,
 *	 "trenches":[{"name":..}],
 *	 "conduits":[{"name":..,"trench":..,"destination_port_nats":
 *	              [{"port":"5000-5010","target_port":5000,"protocol":"tcp",
 *	                "vips":[..]}]}],
 *	 "streams":[{"name":..,"trench":..,"conduit":..,"max_targets":100}],
 *	 "flows":[{"name","trench","stream","vips","source_subnets",
 *	           "source_port_ranges","destination_port_ranges","protocols",
 *	           "priority","byte_matches"}],
 *	 "vips":[{"name","trench","address"}],
 *	 "attractors":[{"name","trench","vips","gateways","composites",
 *	                "replicas"}],
 *	 "gateways":[{"name","trench","address","ip_family","protocol","bfd",
 *	              "remote_asn","local_asn","remote_port","local_port",
 *	              "hold_time","min_tx","min_rx","multiplier"}],
 *	 "services":[{"name","trench","addresses","policy","max_instances"}]}
 * With a kind other than CTL_KIND_ALL only "revision" and that kind's list
 * are written.
 */
#ifndef STRAIT_CTL_PRINT_CONFIG_H
#define STRAIT_CTL_PRINT_CONFIG_H

#include "args.h"
#include "buf.h"
#include "json.h"
#include "nsp.pb-c.h"

/* Appends "revision N" and a section per kind. Returns 0 or -ENOMEM. */
int ctl_config_text(struct buf *b, const Nsp__ConfigResponse *r,
		    enum ctl_kind kind);

/* Writes the object above. Returns the writer's error. */
int ctl_config_json(struct json *j, const Nsp__ConfigResponse *r,
		    enum ctl_kind kind);

#endif
