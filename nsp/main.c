/* strait-nsp: placeholder until the server lands (see docs/nsp.md). */
#include <stdio.h>

int main(void)
{
	fprintf(stderr, "strait-nsp: not built yet\n");
	return 1;
}
