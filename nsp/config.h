/* The trench configuration: Meridio's ConfigMap, parsed and validated.
 *
 * A configuration directory (a mounted ConfigMap, usually named
 * "meridio-configuration-<trench>") holds up to eight YAML files:
 *
 *   trench      name: trench-a
 *   conduits    items: [ {name, trench, destination-port-nats}, ... ]
 *   streams     items: [ {name, trench, conduit, max-targets}, ... ]
 *   flows       items: [ {name, trench, stream, vips, protocols, ...}, ... ]
 *   vips        items: [ {name, trench, address}, ... ]
 *   attractors  items: [ {name, trench, vips, gateways, composites, ...} ]
 *   gateways    items: [ {name, trench, address, ip-family, ...}, ... ]
 *   services    items: [ {name, trench, addresses, policy,
 *                         max-instances}, ... ]   (strait-tun's, not Meridio's)
 *
 * docs/config.md is the reference for every field, default and rule.
 *
 * A configuration is accepted or refused as a whole. Once accepted it is
 * canonical: every item of a kind is sorted by name, every value is in its
 * canonical text (addresses as inet_ntop writes them, port ranges, byte
 * matches and protocols as lib/match.h writes them) and every default is
 * filled in, so two configurations that mean the same compare equal with
 * nsp_config_equal() however their files were written (except for the order
 * within a list field, which is kept as written).
 *
 * Errors name the file, the item (its index from 1 and its name), the field,
 * the value and the reason, then the YAML line:
 *
 *   flows: item 2 (flow-b): destination-port-ranges: "70000" is not a port
 *   or port range (0-65535) (line 14)
 *
 * The parser is pure (no I/O, no logging) and safe on any input; only
 * nsp_config_load_dir() reads files.
 */
#ifndef STRAIT_NSP_CONFIG_H
#define STRAIT_NSP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "nsp.pb-c.h"

/* The files of a configuration directory. */
enum nsp_config_kind {
	NSP_CFG_TRENCH,
	NSP_CFG_CONDUITS,
	NSP_CFG_STREAMS,
	NSP_CFG_FLOWS,
	NSP_CFG_VIPS,
	NSP_CFG_ATTRACTORS,
	NSP_CFG_GATEWAYS,
	NSP_CFG_SERVICES,
	NSP_CFG_KINDS
};

/* The file name of each kind: "trench", "conduits", "streams", "flows",
 * "vips", "attractors", "gateways", "services". */
extern const char *const nsp_config_file[NSP_CFG_KINDS];

#define NSP_CONFIG_MAX_FILE (1u << 20) /* bytes in one file */
#define NSP_CONFIG_MAX_ITEMS 10000     /* items in one file */
#define NSP_CONFIG_MAX_LIST 1024       /* entries in one list field */
#define NSP_CONFIG_MAX_NAME 63	       /* characters in a name */
#define NSP_CONFIG_MAX_TEXT 255	       /* characters in any other value */
#define NSP_CONFIG_ERRLEN 512	       /* enough for any error message */

/* A validated configuration. Every message and string is owned by it and
 * freed by nsp_config_free(); callers must not change it (it may be shared
 * by watchers; build a new one instead). Each array is sorted by name. */
struct nsp_config {
	Nsp__Trench *trench; /* trench->name is the trench of every item */
	Nsp__Conduit **conduits;
	size_t n_conduits;
	Nsp__Stream **streams;
	size_t n_streams;
	Nsp__Flow **flows;
	size_t n_flows;
	Nsp__Vip **vips;
	size_t n_vips;
	Nsp__Attractor **attractors;
	size_t n_attractors;
	Nsp__Gateway **gateways;
	size_t n_gateways;
	Nsp__Service **services;
	size_t n_services;
};

/* Parses and validates the texts of one configuration.
 *
 * texts[k] holds lens[k] bytes of file k (it need not be NUL-terminated);
 * texts[k] == NULL means the file is absent, which for a list file means no
 * items. When the trench file is absent or empty, the trench is named
 * default_trench; when that is NULL too, the configuration is refused.
 *
 * On success *out receives a new configuration, which the caller frees with
 * nsp_config_free(). Returns 0; -EINVAL with a one-line message in err (at
 * most errlen bytes with its NUL; NSP_CONFIG_ERRLEN is always enough) when
 * the configuration is refused; -ENOMEM. *out is untouched on failure.
 */
int nsp_config_parse(const char *const texts[NSP_CFG_KINDS],
		     const size_t lens[NSP_CFG_KINDS],
		     const char *default_trench, struct nsp_config **out,
		     char *err, size_t errlen);

/* Reads a configuration directory, then parses it as nsp_config_parse().
 *
 * When dir holds Kubernetes' "..data" symlink, all files are read from the
 * directory it points to, resolved once, so that a concurrent atomic swap
 * gives either the old or the new set of files, never a mix. A missing file
 * is an absent file; a file of another name is refused (it is most likely
 * a misspelt one); names starting with "." are ignored. The default trench
 * is <trench> when dir's last component is "meridio-configuration-<trench>".
 *
 * Returns 0; -EINVAL as nsp_config_parse(), or for a file that is not a
 * regular file or exceeds NSP_CONFIG_MAX_FILE; or the negative errno of a
 * failed system call (-ENOENT when dir does not exist), each with a message
 * in err that names the path.
 */
int nsp_config_load_dir(const char *dir, struct nsp_config **out, char *err,
			size_t errlen);

/* Frees a configuration and everything in it. NULL is allowed. */
void nsp_config_free(struct nsp_config *cfg);

/* True when a and b hold the same items with the same values. Both must be
 * valid configurations; NULL equals only NULL. */
bool nsp_config_equal(const struct nsp_config *a, const struct nsp_config *b);

/* The item named name, or NULL. O(log n). */
const Nsp__Conduit *nsp_config_find_conduit(const struct nsp_config *cfg,
					    const char *name);
const Nsp__Vip *nsp_config_find_vip(const struct nsp_config *cfg,
				    const char *name);
const Nsp__Gateway *nsp_config_find_gateway(const struct nsp_config *cfg,
					    const char *name);
const Nsp__Service *nsp_config_find_service(const struct nsp_config *cfg,
					    const char *name);

/* The stream named stream when it belongs to conduit (any conduit when
 * conduit is NULL), or NULL. Stream names are unique in a trench. */
const Nsp__Stream *nsp_config_find_stream(const struct nsp_config *cfg,
					  const char *conduit,
					  const char *stream);

#endif
