/* libFuzzer target for the configuration parser (nsp/config.h) and the
 * match syntax (lib/match.h).
 *
 * The input is the eight files of a configuration directory in the order
 * of enum nsp_config_kind (trench, conduits, streams, flows, vips,
 * attractors, gateways, services), separated by lines that hold only "%%". Missing
 * sections are absent files; an empty first section leaves the trench to
 * the default, "trench-a". See tests/fuzz/seeds/config/.
 *
 * Besides "no crash, no leak, no hang" it checks properties:
 *   - a configuration parses the same twice, and equals itself;
 *   - every message of an accepted configuration packs;
 *   - a refused one leaves a one-line message;
 *   - each line of the input that parses as a port range or a byte match
 *     formats to a text that parses back to the same struct.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../nsp/config.h"
#include "match.h"

#define SEP "\n%%\n"

static void check(bool ok)
{
	if (!ok)
		__builtin_trap();
}

static void pack_all(void *const *msgs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const ProtobufCMessage *m = msgs[i];
		size_t len = protobuf_c_message_get_packed_size(m);
		uint8_t *buf = malloc(len ? len : 1);

		check(buf != NULL);
		check(protobuf_c_message_pack(m, buf) == len);
		free(buf);
	}
}

static void fuzz_config(const char *data, size_t size)
{
	const char *texts[NSP_CFG_KINDS] = {NULL};
	size_t lens[NSP_CFG_KINDS] = {0};
	const char *p = data, *end = data + size;
	struct nsp_config *a = NULL, *b = NULL;
	char err[NSP_CONFIG_ERRLEN];
	int ra, rb;

	for (int k = 0; k < NSP_CFG_KINDS && p <= end; k++) {
		const char *sep =
		    memmem(p, (size_t)(end - p), SEP, strlen(SEP));
		const char *stop = sep ? sep : end;

		texts[k] = p;
		lens[k] = (size_t)(stop - p);
		if (!sep)
			break;
		p = sep + strlen(SEP);
	}
	if (texts[NSP_CFG_TRENCH] && lens[NSP_CFG_TRENCH] == 0)
		texts[NSP_CFG_TRENCH] = NULL;

	ra = nsp_config_parse(texts, lens, "trench-a", &a, err, sizeof(err));
	if (ra < 0) {
		check(a == NULL);
		check(strchr(err, '\n') == NULL && err[0] != '\0');
	}
	rb = nsp_config_parse(texts, lens, "trench-a", &b, err, sizeof(err));
	check(ra == rb);
	if (ra == 0) {
		check(nsp_config_equal(a, a));
		check(nsp_config_equal(a, b));
		pack_all((void *const *)&a->trench, 1);
		pack_all((void *const *)a->conduits, a->n_conduits);
		pack_all((void *const *)a->streams, a->n_streams);
		pack_all((void *const *)a->flows, a->n_flows);
		pack_all((void *const *)a->vips, a->n_vips);
		pack_all((void *const *)a->attractors, a->n_attractors);
		pack_all((void *const *)a->gateways, a->n_gateways);
		pack_all((void *const *)a->services, a->n_services);
		for (size_t i = 0; i < a->n_services; i++)
			check(nsp_config_find_service(
				  a, a->services[i]->name) == a->services[i]);
		for (size_t i = 0; i < a->n_streams; i++)
			check(nsp_config_find_stream(a, a->streams[i]->conduit,
						     a->streams[i]->name) ==
			      a->streams[i]);
		for (size_t i = 0; i < a->n_conduits; i++)
			check(nsp_config_find_conduit(
				  a, a->conduits[i]->name) == a->conduits[i]);
	}
	nsp_config_free(a);
	nsp_config_free(b);
}

static void fuzz_match_line(const char *line)
{
	struct port_range r, r2;
	struct byte_match m, m2;
	char buf[MATCH_BYTE_STRLEN];

	if (match_port_range_parse(line, &r, NULL) == 0) {
		check(r.lo <= r.hi);
		check(match_port_range_format(&r, buf, sizeof(buf)) == 0);
		check(match_port_range_parse(buf, &r2, NULL) == 0);
		check(r.lo == r2.lo && r.hi == r2.hi);
	}
	if (match_byte_parse(line, &m, NULL) == 0) {
		check(m.mask != 0 && (m.value & ~m.mask) == 0);
		check(match_byte_format(&m, buf, sizeof(buf)) == 0);
		check(match_byte_parse(buf, &m2, NULL) == 0);
		check(m.proto == m2.proto && m.offset == m2.offset &&
		      m.len == m2.len && m.value == m2.value &&
		      m.mask == m2.mask);
	}
}

static void fuzz_match(const char *data, size_t size)
{
	char line[256];

	while (size > 0) {
		const char *nl = memchr(data, '\n', size);
		size_t n = nl ? (size_t)(nl - data) : size;

		if (n < sizeof(line)) {
			memcpy(line, data, n);
			line[n] = '\0';
			fuzz_match_line(line);
		}
		if (!nl)
			break;
		size -= n + 1;
		data = nl + 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_config((const char *)data, size);
	fuzz_match((const char *)data, size);
	return 0;
}
