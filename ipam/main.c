/* strait-ipam: placeholder until the server lands (see docs/ipam.md). */
#include <stdio.h>

int main(void)
{
	fprintf(stderr, "strait-ipam: not built yet\n");
	return 1;
}
