/*
 * pki.c - see pki.h.
 */
#include "conformance/lib/pki.h"
#include "conformance/lib/harness.h"

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[64];

bool pki_openssl_present(void)
{
	const char *path = getenv("PATH");
	char buf[4096];
	if (!path)
		path = "/usr/bin:/bin";
	snprintf(buf, sizeof buf, "%s", path);
	for (char *p = buf; p && *p;) {
		char *colon = strchr(p, ':');
		if (colon)
			*colon = '\0';
		if (access(hfmt("%s/openssl", *p ? p : "."), X_OK) == 0)
			return true;
		p = colon ? colon + 1 : NULL;
	}
	return false;
}

int pki_init(void)
{
	snprintf(dir, sizeof dir, "/tmp/hearth-pki-XXXXXX");
	if (!mkdtemp(dir)) {
		dir[0] = '\0';
		return -1;
	}
	return 0;
}

const char *pki_dir(void)
{
	return dir;
}

const char *pki_path(const char *name)
{
	return hfmt("%s/%s", dir, name);
}

/* Run `openssl args...` in dir. 0 on exit status 0. */
static int openssl_run(const char *const *args)
{
	char *argv[32];
	size_t n = 0;
	argv[n++] = (char *)"openssl";
	for (size_t i = 0; args[i] && n < 31; i++)
		argv[n++] = (char *)args[i];
	argv[n] = NULL;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open(pki_path("openssl.log"), O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		if (chdir(dir) != 0)
			_exit(126);
		execvp("openssl", argv);
		_exit(127);
	}
	int st;
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		print_error("pki: openssl %s failed (see %s/openssl.log)\n", args[0], dir);
		return -1;
	}
	return 0;
}

int pki_make_key(const char *stem, const char *cn, bool ca)
{
	char key[64], out[64], subj[128];
	snprintf(key, sizeof key, "%s.key", stem);
	snprintf(out, sizeof out, "%s.%s", stem, ca ? "pem" : "csr");
	snprintf(subj, sizeof subj, "/CN=%s", cn);
	const char *args[] = { "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
	                       "-nodes", "-keyout", key, "-out", out, "-subj", subj,
	                       ca ? "-x509" : NULL, "-days", "2", NULL };
	return openssl_run(args);
}

int pki_sign(const char *stem, const char *ca, const char *ext)
{
	char csr[64], out[64], cacert[64], cakey[64];
	snprintf(csr, sizeof csr, "%s.csr", stem);
	snprintf(out, sizeof out, "%s.pem", stem);
	snprintf(cacert, sizeof cacert, "%s.pem", ca);
	snprintf(cakey, sizeof cakey, "%s.key", ca);
	const char *args[] = { "x509", "-req", "-in", csr, "-CA", cacert, "-CAkey", cakey,
	                       "-CAcreateserial", "-out", out, "-days", "2",
	                       ext ? "-extfile" : NULL, ext, NULL };
	return openssl_run(args);
}

int pki_write(const char *name, const char *text)
{
	FILE *f = fopen(pki_path(name), "w");
	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f) == 0 ? 0 : -1;
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(p);
	return 0;
}

void pki_cleanup(void)
{
	if (dir[0]) {
		if (getenv("HEARTH_KEEP"))
			print_message("pki: kept %s\n", dir);
		else
			nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
		dir[0] = '\0';
	}
}
