/* DNS SRV lookup and RFC 2782 target ordering. */
#ifndef ADENROLL_DNS_H
#define ADENROLL_DNS_H

#include <stddef.h>
#include <stdint.h>

struct srv_target {
	char *host;
	uint16_t port, priority, weight;
};

/* Queries SRV records for name and returns them in RFC 2782 order (*out is
 * owned by the caller, free with dns_srv_free).  A "." target (service
 * explicitly unavailable) yields no targets.  -1 when the name does not
 * resolve or the answer is malformed (logged at debug level). */
int dns_srv_lookup(const char *name, struct srv_target **out, size_t *n);

/* Pure RFC 2782 ordering: priority ascending; within one priority a weighted
 * random selection (weight 0 entries first in the running sum, so they are
 * picked rarely but not never).  rnd returns a uniformly distributed value. */
void dns_srv_order(struct srv_target *v, size_t n, unsigned (*rnd)(void *ctx), void *ctx);

void dns_srv_free(struct srv_target *v, size_t n);

#endif
