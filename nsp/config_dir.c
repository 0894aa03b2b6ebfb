/* Reading a configuration directory: the only part of the configuration
 * parser that does I/O. */
#include "errtext.h"
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DIR_PREFIX "meridio-configuration-"

/* The trench named by the directory's last component, or NULL. */
static char *default_trench(const char *dir)
{
	size_t len = strlen(dir), start;

	while (len > 1 && dir[len - 1] == '/')
		len--;
	start = len;
	while (start > 0 && dir[start - 1] != '/')
		start--;
	if (len - start <= strlen(DIR_PREFIX) ||
	    strncmp(dir + start, DIR_PREFIX, strlen(DIR_PREFIX)) != 0)
		return NULL;
	start += strlen(DIR_PREFIX);
	return strndup(dir + start, len - start);
}

/* Reads one file of the directory fd into a new buffer. A missing file
 * leaves *text NULL. */
static int read_file(int dfd, const char *dir, const char *name, char **text,
		     size_t *len, char *err, size_t errlen)
{
	struct stat st;
	size_t cap, n = 0;
	char *buf = NULL;
	int fd, rc = 0;

	*text = NULL;
	*len = 0;
	fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0)
		return errtext(-errno, err, errlen, "%s/%s: %s", dir, name,
			    strerror(errno));
	if (fstat(fd, &st) < 0) {
		rc = errtext(-errno, err, errlen, "%s/%s: %s", dir, name,
			  strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = errtext(-EINVAL, err, errlen, "%s/%s: not a regular file",
			  dir, name);
		goto out;
	}
	/* The size is a hint only: the file may change while it is read,
	 * so read up to one byte past the limit to notice an oversized one. */
	cap = st.st_size > 0 && (size_t)st.st_size < NSP_CONFIG_MAX_FILE
		  ? (size_t)st.st_size + 1
		  : NSP_CONFIG_MAX_FILE + 1;
	buf = malloc(cap);
	if (!buf) {
		rc = -ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t got;

		if (n == cap) {
			char *b;

			if (cap > NSP_CONFIG_MAX_FILE)
				break;
			cap = NSP_CONFIG_MAX_FILE + 1;
			b = realloc(buf, cap);
			if (!b) {
				rc = -ENOMEM;
				goto out;
			}
			buf = b;
		}
		got = read(fd, buf + n, cap - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			rc = errtext(-errno, err, errlen, "%s/%s: %s", dir, name,
				  strerror(errno));
			goto out;
		}
		if (got == 0)
			break;
		n += (size_t)got;
	}
	if (n > NSP_CONFIG_MAX_FILE) {
		rc = errtext(-EINVAL, err, errlen,
			  "%s: the file is larger than %u bytes", name,
			  NSP_CONFIG_MAX_FILE);
		goto out;
	}
	*text = buf;
	*len = n;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return rc;
}

/* Refuses a file that is not one of the eight: most likely a misspelt
 * one ("flow"), whose items would otherwise be silently missing. */
static int check_names(int dfd, const char *dir, char *err, size_t errlen)
{
	int fd = dup(dfd);
	struct dirent *de;
	DIR *d;
	int rc = 0;

	if (fd < 0)
		return errtext(-errno, err, errlen, "%s: %s", dir,
			    strerror(errno));
	d = fdopendir(fd);
	if (!d) {
		rc = errtext(-errno, err, errlen, "%s: %s", dir, strerror(errno));
		close(fd);
		return rc;
	}
	rewinddir(d);
	while (rc == 0 && (errno = 0, de = readdir(d))) {
		bool known = de->d_name[0] == '.';

		for (size_t k = 0; k < NSP_CFG_KINDS && !known; k++)
			known = strcmp(de->d_name, nsp_config_file[k]) == 0;
		if (!known)
			rc = errtext(-EINVAL, err, errlen,
				  "%s: unknown file \"%.64s\" (expected "
				  "trench, conduits, streams, flows, vips, "
				  "attractors, gateways or services)",
				  dir, de->d_name);
	}
	if (rc == 0 && errno)
		rc = errtext(-errno, err, errlen, "%s: %s", dir, strerror(errno));
	closedir(d);
	return rc;
}

int nsp_config_load_dir(const char *dir, struct nsp_config **out, char *err,
			size_t errlen)
{
	char *texts[NSP_CFG_KINDS] = {NULL};
	size_t lens[NSP_CFG_KINDS] = {0};
	char *trench = NULL;
	int top, src, rc = 0;

	top = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (top < 0)
		return errtext(-errno, err, errlen, "%s: %s", dir,
			    strerror(errno));
	/* Kubernetes writes a new timestamped directory, then renames a new
	 * "..data" symlink over the old one; the visible names are symlinks
	 * through "..data". Opening "..data" once pins one generation. */
	src = openat(top, "..data", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (src < 0 && errno != ENOENT) {
		rc = errtext(-errno, err, errlen, "%s/..data: %s", dir,
			  strerror(errno));
		goto close_top;
	}
	if (src < 0)
		src = top;
	rc = check_names(src, dir, err, errlen);
	for (size_t k = 0; k < NSP_CFG_KINDS && rc == 0; k++)
		rc = read_file(src, dir, nsp_config_file[k], (char **)&texts[k],
			       &lens[k], err, errlen);
	if (rc < 0)
		goto free_texts;
	trench = default_trench(dir);
	rc = nsp_config_parse((const char *const *)texts, lens, trench, out,
			      err, errlen);
	free(trench);
free_texts:
	for (size_t k = 0; k < NSP_CFG_KINDS; k++)
		free(texts[k]);
	if (src != top)
		close(src);
close_top:
	close(top);
	return rc;
}
