/* The --resume file. See resume.h. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "resume.h"

static int parse_u64(const char **p, uint64_t *out)
{
	const char *s = *p;
	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	*out = v;
	*p = end;
	return 0;
}

int ctl_resume_load(const char *path, struct ctl_resume *pos)
{
	memset(pos, 0, sizeof(*pos));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	char text[128];
	ssize_t n = read(fd, text, sizeof(text) - 1);
	int err = n < 0 ? -errno : 0;
	close(fd);
	if (err)
		return err;
	text[n] = '\0';

	struct ctl_resume got;
	const char *p = text;
	if (parse_u64(&p, &got.store_id) < 0 || *p++ != ' ' ||
	    parse_u64(&p, &got.revision) < 0 || strcmp(p, "\n") != 0)
		return -EINVAL;
	*pos = got;
	return 0;
}

static int tmp_name(const char *path, char *tmp, size_t size)
{
	if (snprintf(tmp, size, "%s.tmp", path) >= (int)size)
		return -ENAMETOOLONG;
	return 0;
}

int ctl_resume_prepare(const char *path, const struct ctl_resume *pos)
{
	char tmp[4096];
	int err = tmp_name(path, tmp, sizeof(tmp));
	if (err)
		return err;
	char line[64];
	int len = snprintf(line, sizeof(line), "%" PRIu64 " %" PRIu64 "\n",
			   pos->store_id, pos->revision);

	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (write(fd, line, (size_t)len) != len)
		err = errno ? -errno : -EIO;
	if (close(fd) < 0 && !err)
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

int ctl_resume_commit(const char *path)
{
	char tmp[4096];
	int err = tmp_name(path, tmp, sizeof(tmp));
	if (err)
		return err;
	if (rename(tmp, path) < 0) {
		err = -errno;
		unlink(tmp);
	}
	return err;
}

int ctl_resume_save(const char *path, const struct ctl_resume *pos)
{
	int err = ctl_resume_prepare(path, pos);
	return err ? err : ctl_resume_commit(path);
}
