/* DNS SRV lookup (RFC 2782) through the system resolver. */
#include "adenroll-build.h"

#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dns.h"
#include "log.h"
#include "util.h"

void dns_srv_free(struct srv_target *v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i].host);
	free(v);
}

/* RFC 2782 "Usage rules": lowest priority first; within a priority, order
 * by repeated weighted random selection over the remaining records, with
 * zero-weight records placed first so that they are chosen only when the
 * random number hits 0. */
void dns_srv_order(struct srv_target *v, size_t n, unsigned (*rnd)(void *ctx), void *ctx)
{
	/* Stable insertion sort by priority, then weight 0 before others. */
	for (size_t i = 1; i < n; i++) {
		struct srv_target t = v[i];
		size_t j = i;
		while (j > 0 && (v[j - 1].priority > t.priority ||
				 (v[j - 1].priority == t.priority && v[j - 1].weight != 0 && t.weight == 0))) {
			v[j] = v[j - 1];
			j--;
		}
		v[j] = t;
	}
	for (size_t start = 0; start < n;) {
		size_t end = start;
		while (end < n && v[end].priority == v[start].priority)
			end++;
		for (size_t pos = start; pos + 1 < end; pos++) {
			unsigned long sum = 0;
			for (size_t k = pos; k < end; k++)
				sum += v[k].weight;
			unsigned long pick = rnd(ctx) % (sum + 1);
			unsigned long running = 0;
			size_t chosen = end - 1;
			for (size_t k = pos; k < end; k++) {
				running += v[k].weight;
				if (running >= pick) {
					chosen = k;
					break;
				}
			}
			/* Move the chosen record to pos, keeping the others' relative order. */
			struct srv_target t = v[chosen];
			memmove(&v[pos + 1], &v[pos], (chosen - pos) * sizeof(*v));
			v[pos] = t;
		}
		start = end;
	}
}

static unsigned default_rnd(void *ctx)
{
	static bool seeded;
	(void)ctx;
	if (!seeded) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		srandom((unsigned)ts.tv_nsec ^ (unsigned)getpid());
		seeded = true;
	}
	return (unsigned)random();
}

int dns_srv_lookup(const char *name, struct srv_target **out, size_t *n)
{
	unsigned char answer[NS_MAXMSG];
	struct srv_target *v = NULL;
	size_t count = 0;
	ns_msg msg;
	int len, ret = -1;

	*out = NULL;
	*n = 0;
	len = res_query(name, ns_c_in, ns_t_srv, answer, sizeof(answer));
	if (len < 0) {
		log_debug("DNS SRV lookup of %s failed: %s", name, hstrerror(h_errno));
		goto out;
	}
	if (len > (int)sizeof(answer))
		len = sizeof(answer);
	if (ns_initparse(answer, len, &msg) < 0) {
		log_debug("DNS SRV answer for %s is malformed", name);
		goto out;
	}
	int nrr = ns_msg_count(msg, ns_s_an);
	v = xcalloc(nrr > 0 ? (size_t)nrr : 1, sizeof(*v));
	for (int i = 0; i < nrr; i++) {
		ns_rr rr;
		char target[NS_MAXDNAME];
		if (ns_parserr(&msg, ns_s_an, i, &rr) < 0) {
			log_debug("DNS SRV answer for %s: record %d is malformed", name, i);
			goto out;
		}
		if (ns_rr_type(rr) != ns_t_srv || ns_rr_class(rr) != ns_c_in)
			continue;
		const unsigned char *rd = ns_rr_rdata(rr);
		if (ns_rr_rdlen(rr) < 7) {
			log_debug("DNS SRV answer for %s: short SRV record", name);
			goto out;
		}
		if (ns_name_uncompress(ns_msg_base(msg), ns_msg_end(msg), rd + 6, target, sizeof(target)) < 0) {
			log_debug("DNS SRV answer for %s: bad target name", name);
			goto out;
		}
		/* RFC 2782: a target of "." means the service is decidedly not available. */
		if (target[0] == '\0' || strcmp(target, ".") == 0)
			continue;
		size_t tl = strlen(target);
		if (tl > 0 && target[tl - 1] == '.')
			target[tl - 1] = '\0';
		v[count].priority = ns_get16(rd);
		v[count].weight = ns_get16(rd + 2);
		v[count].port = ns_get16(rd + 4);
		v[count].host = xstrdup(target);
		count++;
	}
	if (count == 0) {
		log_debug("DNS SRV lookup of %s: no usable records", name);
		goto out;
	}
	dns_srv_order(v, count, default_rnd, NULL);
	*out = v;
	*n = count;
	v = NULL;
	count = 0;
	ret = 0;
out:
	dns_srv_free(v, count);
	return ret;
}
