/* strait-lb: placeholder until the data path lands (see docs/lb.md). */
#include <stdio.h>

int main(void)
{
	fprintf(stderr, "strait-lb: not built yet\n");
	return 1;
}
