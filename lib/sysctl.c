#include "sysctl.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "errtext.h"

int sysctl_write(const char *path, const char *value, char *err, size_t len)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return errtext(-errno, err, len, "%s: %s", path,
			       strerror(errno));
	ssize_t n = write(fd, value, strlen(value));
	int e = errno;
	close(fd);
	if (n < 0)
		return errtext(-e, err, len, "%s: %s", path, strerror(e));
	return 0;
}
