/*
 * pki.h - a throwaway PKI for the TLS conformance tests, made with the
 * `openssl` command at test time in a mkdtemp() directory.
 *
 * Keys are P-256; certificates live two days. Every file is named by its
 * stem: <stem>.key, <stem>.csr, <stem>.pem. pki_path() returns one of the
 * rotating hfmt() buffers of the harness (copy it to keep it). openssl's
 * output goes to <dir>/openssl.log.
 */
#ifndef HEARTH_CONF_PKI_H
#define HEARTH_CONF_PKI_H

#include <stdbool.h>

bool pki_openssl_present(void);            /* `openssl` on PATH? */
int pki_init(void);                        /* mkdtemp /tmp/hearth-pki-XXXXXX; 0 or -1 */
const char *pki_dir(void);                 /* "" before pki_init */
const char *pki_path(const char *name);    /* dir/name */
/* A key and a CSR with subject CN=cn, or a self-signed CA (ca true). */
int pki_make_key(const char *stem, const char *cn, bool ca);
/* Sign stem.csr with CA stem ca into stem.pem; ext: a file of x509v3
 * extensions in the PKI directory (e.g. "subjectAltName=IP:127.0.0.1"), or
 * NULL. */
int pki_sign(const char *stem, const char *ca, const char *ext);
/* Write text into dir/name. */
int pki_write(const char *name, const char *text);
void pki_cleanup(void);                    /* remove the directory */

#endif
