/*
 * hsign_lazy.c - the signing library (ae/lib/hsign.c) for the daemon,
 * loaded on first use.
 *
 * The gateway needs libcjose and OpenSSL only to verify update packages,
 * and OpenSSL alone costs about 1.5 MiB of resident pages once mapped. So
 * the daemon does not link them: hsign.c is built as the plugin
 * hearth-update.so (with -Bsymbolic, linked against libcjose and
 * libcrypto), and these stubs dlopen() it the first time a verified update
 * needs it. It is looked for next to the executable, one directory up
 * (build/tests/...), then through HEARTH_UPDATE_SO. When it cannot be
 * loaded every call fails with HS_R_INTERNAL, and the operation ends in
 * failure with that reason.
 */
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../ae/lib/hsign.h"
#include "../cse/log.h"

#define PLUGIN "hearth-update.so"

static struct {
	void *h;
	int (*key_load)(const char *, hs_key **, const char **);
	const char *(*key_kid)(const hs_key *);
	bool (*key_has_private)(const hs_key *);
	void (*key_free)(hs_key **);
	hs_keyset *(*keyset_new)(void);
	int (*keyset_add_path)(hs_keyset *, const char *, const char *, const char **);
	void (*keyset_free)(hs_keyset **);
	int (*manifest_verify)(const char *, const hs_keyset *, time_t, json_t **, const char **);
	int (*manifest_check_target)(const json_t *, const char *, const char *, long long, const char **);
	int (*manifest_hash)(const char *, char[HS_KID_LEN + 1]);
	int (*assignment_verify)(const char *, const hs_keyset *, const char *, const char *, const char *,
	                         time_t, json_t **, const char **);
	int (*image_check_path)(const char *, const json_t *, hs_image_form, const char **);
	int (*image_decrypt)(const char *, const char *, const hs_key *, const json_t *, const char **);
} L;

static pthread_once_t once = PTHREAD_ONCE_INIT;

static void *try_open(const char *dir, const char *rel)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s/%s%s", dir, rel, PLUGIN) >= (int)sizeof(path))
		return NULL;
	return dlopen(path, RTLD_NOW | RTLD_LOCAL);
}

#define SYM(f) (*(void **)(&L.f) = dlsym(L.h, "hs_" #f)) != NULL

static void load(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			L.h = try_open(exe, "");
			if (!L.h)
				L.h = try_open(exe, "../");
		}
	}
	const char *env = getenv("HEARTH_UPDATE_SO");
	if (!L.h && env && *env)
		L.h = dlopen(env, RTLD_NOW | RTLD_LOCAL);
	if (!L.h) {
		log_error("update verification: cannot load %s next to the executable: %s", PLUGIN, dlerror());
		return;
	}
	if (!(SYM(key_load) && SYM(key_kid) && SYM(key_has_private) && SYM(key_free) && SYM(keyset_new) &&
	      SYM(keyset_add_path) && SYM(keyset_free) && SYM(manifest_verify) && SYM(manifest_check_target) &&
	      SYM(manifest_hash) && SYM(assignment_verify) && SYM(image_check_path) && SYM(image_decrypt))) {
		log_error("update verification: %s lacks a function: %s", PLUGIN, dlerror());
		dlclose(L.h);
		memset(&L, 0, sizeof(L));
	}
}

static bool ready(const char **reason)
{
	pthread_once(&once, load);
	if (!L.h && reason)
		*reason = HS_R_INTERNAL;
	return L.h != NULL;
}

int hs_key_load(const char *path, hs_key **out, const char **reason)
{
	return ready(reason) ? L.key_load(path, out, reason) : -1;
}

const char *hs_key_kid(const hs_key *k)
{
	return ready(NULL) && k ? L.key_kid(k) : "";
}

bool hs_key_has_private(const hs_key *k)
{
	return ready(NULL) && k && L.key_has_private(k);
}

void hs_key_free(hs_key **k)
{
	if (k && *k && ready(NULL))
		L.key_free(k);
}

hs_keyset *hs_keyset_new(void)
{
	return ready(NULL) ? L.keyset_new() : NULL;
}

int hs_keyset_add_path(hs_keyset *ks, const char *vendor, const char *path, const char **reason)
{
	return ready(reason) ? L.keyset_add_path(ks, vendor, path, reason) : -1;
}

void hs_keyset_free(hs_keyset **ks)
{
	if (ks && *ks && ready(NULL))
		L.keyset_free(ks);
}

int hs_manifest_verify(const char *jws, const hs_keyset *vendor_keys, time_t now, json_t **payload,
                       const char **reason)
{
	return ready(reason) ? L.manifest_verify(jws, vendor_keys, now, payload, reason) : -1;
}

int hs_manifest_check_target(const json_t *payload, const char *model, const char *hw, long long installed_seq,
                             const char **reason)
{
	return ready(reason) ? L.manifest_check_target(payload, model, hw, installed_seq, reason) : -1;
}

int hs_manifest_hash(const char *manifest_jws, char out[HS_KID_LEN + 1])
{
	return ready(NULL) ? L.manifest_hash(manifest_jws, out) : -1;
}

int hs_assignment_verify(const char *jws, const hs_keyset *operator_keys, const char *manifest_jws,
                         const char *device, const char *gateway, time_t now, json_t **payload,
                         const char **reason)
{
	return ready(reason) ? L.assignment_verify(jws, operator_keys, manifest_jws, device, gateway, now, payload,
	                                           reason)
	                     : -1;
}

int hs_image_check_path(const char *path, const json_t *manifest, hs_image_form form, const char **reason)
{
	return ready(reason) ? L.image_check_path(path, manifest, form, reason) : -1;
}

int hs_image_decrypt(const char *in, const char *out, const hs_key *own, const json_t *manifest,
                     const char **reason)
{
	return ready(reason) ? L.image_decrypt(in, out, own, manifest, reason) : -1;
}
