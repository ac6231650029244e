/*
 * hearth-sign - the manufacturer's and operator's tool for signed updates:
 * P-256 keys, signed image manifests (JWS ES256), signed device
 * assignments, image encryption for a gateway key (JWE ECDH-ES + A256GCM)
 * and verification; the formats are described in ae/lib/hsign.h and the
 * README ("Signing (hearth-sign)").
 *
 *   hearth-sign keygen --out KEY.pem [--pub PUB.pem]
 *   hearth-sign kid --key PEM
 *   hearth-sign manifest --key VENDOR.pem --vendor V --model M --hw 1.0,1.1
 *       --version 2.1.0 --seq 7 --image FILE [--name NAME]
 *       [--criticality critical|high|medium|low] [--advisory ID]...
 *       [--expires SECONDS|EPOCH|YYYY-MM-DDTHH:MM:SSZ]
 *       [--encrypt-for GW_PUB.pem --out-image FILE.jwe] [--out FILE]
 *   hearth-sign assign --key OPERATOR.pem --manifest FILE --device NI
 *       --gateway /id-mn [--campaign C] [--expires ...] [--out FILE]
 *   hearth-sign verify --vendor-pub PUB.pem [--vendor-pub ...] [--vendor V]
 *       --manifest FILE [--image FILE] [--encrypted-image FILE]
 *       [--model M] [--hw H] [--installed-seq N]
 *       [--operator-pub PUB.pem... --assignment FILE [--device NI]
 *        [--gateway ID]] [--now EPOCH]
 *   hearth-sign encrypt --for PUB.pem IN OUT
 *   hearth-sign decrypt --key KEY.pem IN OUT
 *
 * Exit status: 0 done; 1 refused or failed, with the reason code (see
 * hsign.h) on stderr; 2 bad usage, with a one-line message.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "ae/lib/hsign.h"

#define ARGS_MAX 64 /* repeated options (--advisory, --vendor-pub, ...) */
#define DEFAULT_MANIFEST_TTL (365L * 24 * 3600)
#define DEFAULT_ASSIGN_TTL (30L * 24 * 3600)

static const char USAGE[] =
	"usage: hearth-sign COMMAND [options]\n"
	"  keygen   --out KEY.pem [--pub PUB.pem]          new P-256 key pair; prints its kid\n"
	"  kid      --key PEM                              print a key's kid (RFC 7638 thumbprint)\n"
	"  manifest --key VENDOR.pem --vendor V --model M --hw H[,H...] --version VER --seq N\n"
	"           --image FILE [--name NAME] [--criticality critical|high|medium|low]\n"
	"           [--advisory ID]... [--expires SECONDS|EPOCH|YYYY-MM-DDTHH:MM:SSZ]\n"
	"           [--encrypt-for GW_PUB.pem --out-image FILE.jwe] [--out FILE]\n"
	"  assign   --key OPERATOR.pem --manifest FILE --device NI --gateway CSE-ID\n"
	"           [--campaign C] [--expires ...] [--out FILE]\n"
	"  verify   --vendor-pub PUB.pem [--vendor-pub ...] [--vendor V] --manifest FILE\n"
	"           [--image FILE] [--encrypted-image FILE] [--model M] [--hw H] [--installed-seq N]\n"
	"           [--operator-pub PUB.pem... --assignment FILE [--device NI] [--gateway ID]]\n"
	"           [--now EPOCH]\n"
	"  encrypt  --for PUB.pem IN OUT                   JWE (ECDH-ES, A256GCM) for a gateway key\n"
	"  decrypt  --key KEY.pem IN OUT\n"
	"exit status: 0 ok, 1 refused (reason code on stderr), 2 bad usage\n";

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("hearth-sign: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputs(" (try hearth-sign --help)\n", stderr);
	va_end(ap);
	return 2;
}

static int refused(const char *what, const char *reason)
{
	if (what)
		fprintf(stderr, "hearth-sign: %s: %s\n", what, reason ? reason : HS_R_INTERNAL);
	else
		fprintf(stderr, "%s\n", reason ? reason : HS_R_INTERNAL);
	return 1;
}

/* ---- option parsing ------------------------------------------------------ */

/* Options of one command: name -> value(s); positional arguments apart. */
struct opts {
	const char *name[ARGS_MAX];
	const char *val[ARGS_MAX];
	int n;
	const char *pos[ARGS_MAX];
	int npos;
};

/* Every option takes a value; allowed is a NULL-terminated list. */
static int opts_parse(int argc, char **argv, const char *const *allowed, struct opts *o)
{
	memset(o, 0, sizeof(*o));
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
			if (o->npos == ARGS_MAX)
				return usage_error("too many arguments");
			o->pos[o->npos++] = a;
			continue;
		}
		bool known = false;
		for (const char *const *p = allowed; *p; p++)
			if (strcmp(a + 2, *p) == 0)
				known = true;
		if (!known)
			return usage_error("unknown option %s", a);
		if (i + 1 >= argc)
			return usage_error("%s needs a value", a);
		if (o->n == ARGS_MAX)
			return usage_error("too many options");
		o->name[o->n] = a + 2;
		o->val[o->n++] = argv[++i];
	}
	return 0;
}

/* The last value of an option, or NULL. */
static const char *opt(const struct opts *o, const char *name)
{
	const char *v = NULL;
	for (int i = 0; i < o->n; i++)
		if (strcmp(o->name[i], name) == 0)
			v = o->val[i];
	return v;
}

static int need(const struct opts *o, const char *const *names)
{
	for (; *names; names++)
		if (!opt(o, *names))
			return usage_error("--%s is required", *names);
	return 0;
}

static bool parse_ll(const char *s, long long min, long long max, long long *out)
{
	if (!s || !*s || (*s < '0' || *s > '9'))
		return false;
	errno = 0;
	char *end = NULL;
	long long v = strtoll(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* SECONDS from now (below 10^9), an absolute epoch, or an ISO 8601 UTC
 * time YYYY-MM-DDTHH:MM:SSZ. */
static bool parse_expires(const char *s, time_t now, long long *out)
{
	long long v;
	if (parse_ll(s, 1, 253402300799ll, &v)) {
		*out = v < 1000000000ll ? (long long)now + v : v;
		return true;
	}
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	const char *end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (!end || *end)
		return false;
	time_t t = timegm(&tm);
	if (t <= 0)
		return false;
	*out = (long long)t;
	return true;
}

/* Read a manifest or assignment file: at most HS_JWS_MAX bytes, trailing
 * white space dropped. */
static char *read_doc(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = malloc(HS_JWS_MAX + 2);
	size_t n = buf ? fread(buf, 1, HS_JWS_MAX + 1, f) : 0;
	bool bad = !buf || ferror(f) || n > HS_JWS_MAX;
	fclose(f);
	if (bad) {
		free(buf);
		return NULL;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' || buf[n - 1] == '\t'))
		n--;
	buf[n] = '\0';
	return buf;
}

static int write_doc(const char *path, const char *text)
{
	FILE *f = path ? fopen(path, "w") : stdout;
	if (!f)
		return -1;
	int rc = fprintf(f, "%s\n", text) < 0 ? -1 : 0;
	if (path && fclose(f) != 0)
		rc = -1;
	if (!path && fflush(f) != 0)
		rc = -1;
	return rc;
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

/* ---- commands ------------------------------------------------------------ */

static int cmd_keygen(int argc, char **argv)
{
	static const char *const allowed[] = {"out", "pub", NULL};
	static const char *const required[] = {"out", NULL};
	struct opts o;
	if (opts_parse(argc, argv, allowed, &o) || need(&o, required))
		return 2;
	if (o.npos)
		return usage_error("keygen takes no arguments");
	hs_key *k = NULL;
	const char *reason = NULL;
	if (hs_key_generate(&k, &reason) != 0)
		return refused("keygen", reason);
	int rc = 0;
	if (hs_key_save(k, opt(&o, "out"), opt(&o, "pub"), &reason) != 0)
		rc = refused("keygen (an existing key file is never replaced)", reason);
	else
		printf("%s\n", hs_key_kid(k));
	hs_key_free(&k);
	return rc;
}

static int cmd_kid(int argc, char **argv)
{
	static const char *const allowed[] = {"key", NULL};
	struct opts o;
	if (opts_parse(argc, argv, allowed, &o) || need(&o, allowed))
		return 2;
	if (o.npos)
		return usage_error("kid takes no arguments");
	hs_key *k = NULL;
	const char *reason = NULL;
	if (hs_key_load(opt(&o, "key"), &k, &reason) != 0)
		return refused(opt(&o, "key"), reason);
	printf("%s\n", hs_key_kid(k));
	hs_key_free(&k);
	return 0;
}

/* "1.0,1.1" -> ["1.0","1.1"]; also repeated --hw options. */
static int add_hw(json_t *arr, const char *list)
{
	const char *p = list;
	while (*p) {
		const char *c = strchr(p, ',');
		size_t n = c ? (size_t)(c - p) : strlen(p);
		if (n == 0 || json_array_append_new(arr, json_stringn(p, n)) != 0)
			return -1;
		p += n;
		if (*p == ',')
			p++;
	}
	return json_array_size(arr) ? 0 : -1;
}

static int cmd_manifest(int argc, char **argv)
{
	static const char *const allowed[] = {"key",         "vendor",   "model",       "hw",      "version",
	                                      "seq",         "image",    "name",        "criticality",
	                                      "advisory",    "expires",  "encrypt-for", "out-image", "out", NULL};
	static const char *const required[] = {"key", "vendor", "model", "hw", "version", "seq", "image", NULL};
	struct opts o;
	if (opts_parse(argc, argv, allowed, &o) || need(&o, required))
		return 2;
	if (o.npos)
		return usage_error("manifest takes no positional arguments");
	if (!opt(&o, "encrypt-for") != !opt(&o, "out-image"))
		return usage_error("--encrypt-for and --out-image go together");
	time_t now = time(NULL);
	long long seq = 0, exp = (long long)now + DEFAULT_MANIFEST_TTL;
	if (!parse_ll(opt(&o, "seq"), 1, HS_SEQ_MAX, &seq))
		return usage_error("--seq must be an integer from 1 to 2^53-1");
	if (opt(&o, "expires") && !parse_expires(opt(&o, "expires"), now, &exp))
		return usage_error("--expires: SECONDS, EPOCH or YYYY-MM-DDTHH:MM:SSZ");
	const char *crit = opt(&o, "criticality") ? opt(&o, "criticality") : "medium";

	int rc = 1;
	const char *reason = NULL;
	hs_key *k = NULL, *gw = NULL;
	json_t *m = NULL, *hw = json_array(), *adv = json_array(), *enc = json_null();
	char *jws = NULL;
	char hex[65], ehex[65];
	uint64_t size = 0, esize = 0;
	for (int i = 0; i < o.n; i++) {
		if (strcmp(o.name[i], "hw") == 0 && add_hw(hw, o.val[i]) != 0) {
			rc = usage_error("--hw: a comma-separated list of hardware versions");
			goto out;
		}
		if (strcmp(o.name[i], "advisory") == 0 && json_array_append_new(adv, json_string(o.val[i])) != 0) {
			rc = usage_error("--advisory: a UTF-8 identifier");
			goto out;
		}
	}
	if (hs_key_load(opt(&o, "key"), &k, &reason) != 0) {
		refused(opt(&o, "key"), reason);
		goto out;
	}
	if (!hs_key_has_private(k)) {
		refused(opt(&o, "key"), HS_R_BAD_KEY);
		goto out;
	}
	if (hs_file_digest(opt(&o, "image"), hex, &size, &reason) != 0) {
		refused(opt(&o, "image"), reason);
		goto out;
	}
	if (opt(&o, "encrypt-for")) {
		if (hs_key_load(opt(&o, "encrypt-for"), &gw, &reason) != 0) {
			refused(opt(&o, "encrypt-for"), reason);
			goto out;
		}
		if (hs_image_encrypt(opt(&o, "image"), opt(&o, "out-image"), gw, ehex, &esize, &reason) != 0) {
			refused("encrypt", reason);
			goto out;
		}
		json_decref(enc);
		enc = json_pack("{s:s, s:s, s:s, s:s, s:I}", "alg", "ECDH-ES", "enc", "A256GCM", "for", hs_key_kid(gw),
		                "sha256", ehex, "size", (json_int_t)esize);
	}
	const char *name = opt(&o, "name") ? opt(&o, "name") : base_name(opt(&o, "image"));
	m = json_pack("{s:i, s:s, s:s, s:O, s:s, s:I, s:{s:s, s:I, s:s, s:O}, s:s, s:O, s:I, s:I}", "v", 1, "vendor",
	              opt(&o, "vendor"), "model", opt(&o, "model"), "hw", hw, "version", opt(&o, "version"), "seq",
	              (json_int_t)seq, "image", "name", name, "size", (json_int_t)size, "sha256", hex, "enc", enc,
	              "criticality", crit, "advisories", adv, "iat", (json_int_t)now, "exp", (json_int_t)exp);
	if (!m) {
		refused("manifest", HS_R_INTERNAL);
		goto out;
	}
	jws = hs_manifest_sign(k, m, &reason);
	if (!jws) {
		refused("manifest (check the values: version is a token, name a file name, "
		        "criticality one of four, expires after now)",
		        reason);
		goto out;
	}
	if (write_doc(opt(&o, "out"), jws) != 0) {
		refused(opt(&o, "out"), HS_R_IO);
		goto out;
	}
	rc = 0;
out:
	free(jws);
	json_decref(m);
	json_decref(hw);
	json_decref(adv);
	json_decref(enc);
	hs_key_free(&k);
	hs_key_free(&gw);
	return rc;
}

static int cmd_assign(int argc, char **argv)
{
	static const char *const allowed[] = {"key", "manifest", "device", "gateway", "campaign", "expires", "out", NULL};
	static const char *const required[] = {"key", "manifest", "device", "gateway", NULL};
	struct opts o;
	if (opts_parse(argc, argv, allowed, &o) || need(&o, required))
		return 2;
	if (o.npos)
		return usage_error("assign takes no positional arguments");
	time_t now = time(NULL);
	long long exp = (long long)now + DEFAULT_ASSIGN_TTL;
	if (opt(&o, "expires") && !parse_expires(opt(&o, "expires"), now, &exp))
		return usage_error("--expires: SECONDS, EPOCH or YYYY-MM-DDTHH:MM:SSZ");
	int rc = 1;
	const char *reason = NULL;
	hs_key *k = NULL;
	json_t *a = NULL;
	char *jws = NULL, *man = read_doc(opt(&o, "manifest"));
	char mh[HS_KID_LEN + 1];
	if (!man || hs_manifest_hash(man, mh) != 0) {
		refused(opt(&o, "manifest"), HS_R_IO);
		goto out;
	}
	if (hs_key_load(opt(&o, "key"), &k, &reason) != 0) {
		refused(opt(&o, "key"), reason);
		goto out;
	}
	a = json_pack("{s:i, s:s, s:s, s:s, s:s, s:I, s:I}", "v", 1, "manifest", mh, "device", opt(&o, "device"),
	              "gateway", opt(&o, "gateway"), "campaign", opt(&o, "campaign") ? opt(&o, "campaign") : "", "iat",
	              (json_int_t)now, "exp", (json_int_t)exp);
	jws = a ? hs_assignment_sign(k, a, &reason) : NULL;
	if (!jws) {
		refused("assign (the gateway is a CSE-ID starting with '/')", a ? reason : HS_R_INTERNAL);
		goto out;
	}
	if (write_doc(opt(&o, "out"), jws) != 0) {
		refused(opt(&o, "out"), HS_R_IO);
		goto out;
	}
	rc = 0;
out:
	free(jws);
	free(man);
	json_decref(a);
	hs_key_free(&k);
	return rc;
}

static void print_json(const json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
	if (s)
		printf("%s\n", s);
	free(s);
}

static int cmd_verify(int argc, char **argv)
{
	static const char *const allowed[] = {"vendor-pub", "vendor",     "manifest",     "image",  "encrypted-image",
	                                      "model",      "hw",         "installed-seq", "operator-pub",
	                                      "assignment", "device",     "gateway",      "now",    NULL};
	static const char *const required[] = {"vendor-pub", "manifest", NULL};
	struct opts o;
	if (opts_parse(argc, argv, allowed, &o) || need(&o, required))
		return 2;
	if (o.npos)
		return usage_error("verify takes no positional arguments");
	if (!opt(&o, "assignment") != !opt(&o, "operator-pub"))
		return usage_error("--assignment and --operator-pub go together");
	if ((opt(&o, "device") || opt(&o, "gateway")) && !opt(&o, "assignment"))
		return usage_error("--device and --gateway check an --assignment");
	long long installed = -1, nowll = (long long)time(NULL);
	if (opt(&o, "installed-seq") && !parse_ll(opt(&o, "installed-seq"), 0, HS_SEQ_MAX, &installed))
		return usage_error("--installed-seq must be an integer >= 0");
	if (opt(&o, "now") && !parse_ll(opt(&o, "now"), 0, 253402300799ll, &nowll))
		return usage_error("--now must be seconds since the epoch");
	time_t now = (time_t)nowll;

	int rc = 1;
	const char *reason = NULL;
	hs_keyset *vk = hs_keyset_new(), *ok = hs_keyset_new();
	json_t *mp = NULL, *ap = NULL;
	char *man = NULL, *asg = NULL;
	if (!vk || !ok) {
		refused(NULL, HS_R_INTERNAL);
		goto out;
	}
	for (int i = 0; i < o.n; i++) {
		hs_keyset *ks = strcmp(o.name[i], "vendor-pub") == 0 ? vk : strcmp(o.name[i], "operator-pub") == 0 ? ok : NULL;
		if (ks && hs_keyset_add_path(ks, ks == vk ? opt(&o, "vendor") : NULL, o.val[i], &reason) != 0) {
			refused(o.val[i], reason);
			goto out;
		}
	}
	man = read_doc(opt(&o, "manifest"));
	if (!man) {
		refused(opt(&o, "manifest"), HS_R_IO);
		goto out;
	}
	if (hs_manifest_verify(man, vk, now, &mp, &reason) != 0 ||
	    hs_manifest_check_target(mp, opt(&o, "model"), opt(&o, "hw"), installed, &reason) != 0) {
		refused(NULL, reason);
		goto out;
	}
	if (opt(&o, "assignment")) {
		asg = read_doc(opt(&o, "assignment"));
		if (!asg) {
			refused(opt(&o, "assignment"), HS_R_IO);
			goto out;
		}
		if (hs_assignment_verify(asg, ok, man, opt(&o, "device"), opt(&o, "gateway"), now, &ap, &reason) != 0) {
			refused(NULL, reason);
			goto out;
		}
	}
	if (opt(&o, "encrypted-image") &&
	    hs_image_check_path(opt(&o, "encrypted-image"), mp, HS_IMAGE_CIPHER, &reason) != 0) {
		refused(NULL, reason);
		goto out;
	}
	if (opt(&o, "image") && hs_image_check_path(opt(&o, "image"), mp, HS_IMAGE_PLAIN, &reason) != 0) {
		refused(NULL, reason);
		goto out;
	}
	print_json(mp);
	if (ap)
		print_json(ap);
	printf("ok\n");
	rc = 0;
out:
	free(man);
	free(asg);
	json_decref(mp);
	json_decref(ap);
	hs_keyset_free(&vk);
	hs_keyset_free(&ok);
	return rc;
}

static int cmd_crypt(int argc, char **argv, bool enc)
{
	static const char *const allowed_enc[] = {"for", NULL};
	static const char *const allowed_dec[] = {"key", NULL};
	struct opts o;
	if (opts_parse(argc, argv, enc ? allowed_enc : allowed_dec, &o) || need(&o, enc ? allowed_enc : allowed_dec))
		return 2;
	if (o.npos != 2)
		return usage_error("%s needs IN and OUT", enc ? "encrypt" : "decrypt");
	const char *keypath = opt(&o, enc ? "for" : "key");
	hs_key *k = NULL;
	const char *reason = NULL;
	if (hs_key_load(keypath, &k, &reason) != 0)
		return refused(keypath, reason);
	int rc = 0;
	char hex[65];
	uint64_t size = 0;
	if (enc) {
		if (hs_image_encrypt(o.pos[0], o.pos[1], k, hex, &size, &reason) != 0)
			rc = refused(NULL, reason);
		else
			printf("sha256=%s size=%llu\n", hex, (unsigned long long)size);
	} else if (hs_image_decrypt(o.pos[0], o.pos[1], k, NULL, &reason) != 0) {
		rc = refused(NULL, reason);
	}
	hs_key_free(&k);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage_error("a command is required");
	const char *cmd = argv[1];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
		fputs(USAGE, stdout);
		return 0;
	}
	for (int i = 2; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0) {
			fputs(USAGE, stdout);
			return 0;
		}
	int n = argc - 2;
	char **rest = argv + 2;
	if (strcmp(cmd, "keygen") == 0)
		return cmd_keygen(n, rest);
	if (strcmp(cmd, "kid") == 0)
		return cmd_kid(n, rest);
	if (strcmp(cmd, "manifest") == 0)
		return cmd_manifest(n, rest);
	if (strcmp(cmd, "assign") == 0)
		return cmd_assign(n, rest);
	if (strcmp(cmd, "verify") == 0)
		return cmd_verify(n, rest);
	if (strcmp(cmd, "encrypt") == 0)
		return cmd_crypt(n, rest, true);
	if (strcmp(cmd, "decrypt") == 0)
		return cmd_crypt(n, rest, false);
	return usage_error("unknown command %s", cmd);
}
