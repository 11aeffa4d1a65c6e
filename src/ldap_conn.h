/* The domain connection: DC choice with failover, SASL/GSSAPI bind with
 * sign+seal, rootDSE, paged searches.  The only file that talks to libldap. */
#ifndef ADENROLL_LDAP_CONN_H
#define ADENROLL_LDAP_CONN_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "util.h"

struct ldap_conn;
struct ldap_entry;

/* DCs: cfg->dcs in order, else SRV _ldap._tcp.<site>._sites.dc._msdcs.<domain>
 * (when cfg->site) then _ldap._tcp.dc._msdcs.<domain>.  For each: ldap://host:port,
 * referrals off, network timeout, SASL GSSAPI bind (SPN ldap/<host name>) with
 * minssf=56.  A failing DC is logged and the next one tried; when all fail
 * one error lists each DC and why.  Uses the process's current ccache
 * (krb_session_*).  0 or -1. */
int ldap_conn_open(const struct config *cfg, const char *domain, struct ldap_conn **out);

/* ldap_conn_open in its two steps, for `adenroll doctor`, which reports
 * what DNS gave before the bind: the DCs to try, in the order they are
 * tried, and where they came from. */
struct ldap_dc {
	char *host;
	unsigned port;
};
struct ldap_dc_list {
	struct ldap_dc *v;
	size_t n;
	bool configured;   /* from cfg->dcs: DNS SRV records not used */
	char *site_srv;    /* the site's SRV name when cfg->site is set, else NULL */
	size_t n_site;     /* the DCs it named (the first n_site of v) */
	char *domain_srv;  /* the domain-wide SRV name; NULL with cfg->dcs or no domain */
};
/* 0, or -1 (logged) when there is no DC to try; out is filled either way
 * (free with ldap_conn_dc_list_free). */
int ldap_conn_dc_list(const struct config *cfg, const char *domain, struct ldap_dc_list *out);
void ldap_conn_dc_list_free(struct ldap_dc_list *l);
int ldap_conn_open_list(const struct config *cfg, const struct ldap_dc_list *dcs, struct ldap_conn **out);
int ldap_conn_open_list_ex(const struct config *cfg, const struct ldap_dc_list *dcs, unsigned flags,
			   struct ldap_conn **out, struct ldap_dc *clock_dc);

/* ldap_conn_open (flags 0, clock_dc NULL) with a bind the DC refuses for
 * the time told apart: when every DC failed and one refused our Kerberos
 * ticket for its time (krb_message_is_clock_error: clock skew, ticket
 * expired or not yet valid), clock_dc (may be NULL) receives the first such
 * DC (host owned by the caller: free it; NULL host when none).  With
 * LDAP_CONN_QUIET_CLOCK those refusals, and the final error when one
 * occurred, are logged at debug only: the caller replaces the ticket or
 * explains the clock, never with GSS-API's own words. */
#define LDAP_CONN_QUIET_CLOCK 0x1u
int ldap_conn_open_ex(const struct config *cfg, const char *domain, unsigned flags, struct ldap_conn **out,
		      struct ldap_dc *clock_dc);

/* This host's clock minus the DC's, in seconds (positive: this host is
 * ahead), from the rootDSE's currentTime: over c, or when c is NULL over a
 * new anonymous connection to host:port (reading the rootDSE needs no bind,
 * which is what a wrong clock breaks).  0, or -1 with why (may be NULL)
 * set (owned: free it); nothing logged. */
int ldap_conn_clock_offset(struct ldap_conn *c, const char *host, unsigned port, double *offset, char **why);

/* The DC host name that answered. */
const char *ldap_conn_dc(const struct ldap_conn *c);
/* The SASL security strength factor negotiated by the bind (LDAP_OPT_X_SASL_SSF:
 * 1 = integrity only, >= 56 = sealed), -1 when unknown.  For `adenroll doctor`. */
int ldap_conn_ssf(const struct ldap_conn *c);

/* rootDSE naming contexts (owned by the caller, free()). 0 or -1. */
int ldap_conn_root_dse(struct ldap_conn *c, char **default_nc, char **config_nc);

enum ldap_conn_scope { LDAP_CONN_BASE = 0, LDAP_CONN_ONE = 1, LDAP_CONN_SUB = 2 };

/* Search flags. */
#define LDAP_CONN_SD_FLAGS 0x1u  /* send SD-flags control value 7 (owner+group+DACL), critical */
#define LDAP_CONN_NO_PAGING 0x2u /* plain search (BASE reads of constructed attributes) */

/* Called once per entry; return 0 to continue, -1 to stop the search with failure. */
typedef int (*ldap_conn_entry_cb)(struct ldap_conn *c, const struct ldap_entry *e, void *ctx);

/* Paged (RFC 2696, page size 200) search.  Referrals/continuations are ignored.
 * Bounded: over all searches of the connection at most cfg->ldap_max_entries
 * entries and cfg->ldap_max_bytes bytes (DN, names and values) are read,
 * and ldap_max_entries / 200 + 64 pages; 60 s per operation; the wait ends
 * when run_timeout is reached (runlimit.h).  Each is an error that names it.
 * -1 with the server's message logged on failure (including from the callback).
 * LDAP_NO_SUCH_OBJECT on the base gives -1 too; *not_found (may be NULL) is
 * set to true in that case so callers can treat a missing container as empty. */
int ldap_conn_search(struct ldap_conn *c, const char *base, enum ldap_conn_scope scope,
		     const char *filter, const char *const *attrs, unsigned flags,
		     ldap_conn_entry_cb cb, void *ctx, bool *not_found);

/* Entry accessors, valid inside the callback only. */
char *ldap_entry_dn(const struct ldap_entry *e);   /* owned, free() */
/* First value as a NUL-terminated copy, or NULL when absent (owned, free()). */
char *ldap_entry_string(const struct ldap_entry *e, const char *attr);
/* All values appended to out (copies); returns how many were added. */
size_t ldap_entry_blobs(const struct ldap_entry *e, const char *attr, struct bloblist *out);
size_t ldap_entry_strings(const struct ldap_entry *e, const char *attr, struct strlist *out);

/* RFC 4515 filter value escaping (owned result). */
char *ldap_filter_escape(const char *value);

/* LDAP operations (binds, searches, pages) performed on this connection. */
unsigned long ldap_conn_op_count(const struct ldap_conn *c);
/* Wall seconds spent connecting, binding and searching (benchmarks). */
double ldap_conn_seconds(const struct ldap_conn *c);

void ldap_conn_close(struct ldap_conn *c);

#endif
