/* libFuzzer target: straitctl's command line. The input is split at NUL
 * bytes into argv; whatever it holds, parsing must not crash, leak or read
 * out of bounds, and a parse that succeeds must hold consistent values. */
#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../ctl/args.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	char *copy = malloc(size + 1);
	memcpy(copy, data, size);
	copy[size] = '\0';
	char *argv[66] = { "straitctl" };
	int argc = 1;
	for (size_t i = 0; i <= size && argc < 65;) {
		argv[argc++] = copy + i;
		i += strlen(copy + i) + 1;
	}
	argv[argc] = NULL;

	struct ctl_args a;
	char err[256];
	if (ctl_args_parse(argc, argv, NULL, &a, err, sizeof(err)) == 0) {
		assert(a.n_ips <= CTL_MAX_IPS);
		assert(a.n_context <= CTL_MAX_CONTEXT);
		assert(a.cmd < CTL_CMD_COUNT);
		/* A key holds exactly the names of its type (checked
		 * unless --help or --version skipped the checks). */
		if ((a.cmd == CTL_CMD_REGISTER ||
		     a.cmd == CTL_CMD_UNREGISTER) &&
		    !a.help && !a.version) {
			bool trench_only = a.type == 4 || a.type == 5;
			assert(a.trench && a.n_ips > 0);
			assert(!a.conduit == trench_only);
			assert(!a.service == (a.type != 5));
			assert(!a.stream == (a.type != 1));
		}
	} else {
		assert(memchr(err, '\0', sizeof(err)));
	}
	/* Owed whatever the result (ctl/args.h). */
	ctl_args_free(&a);
	free(copy);
	return 0;
}
