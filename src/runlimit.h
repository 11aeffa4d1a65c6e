/* The run's time limit ([general] run_timeout): a domain controller or CA
 * that answers slowly, or not at all, must not hold a run and its lock for
 * ever.  At the deadline runlimit_expired() turns true: network waits end
 * (ldap_conn.c, certsrv.c) and pulse stops before its next template, so the
 * run ends cleanly with a message and exit status 1.  If it has not ended
 * grace seconds later, the process writes a message to stderr and exits 1
 * at once: every store step survives that as it survives a kill, and the
 * kernel releases the run lock. */
#ifndef ADENROLL_RUNLIMIT_H
#define ADENROLL_RUNLIMIT_H

#include <stdbool.h>

#define RUNLIMIT_GRACE_SECONDS 30

/* Arms the limit (SIGALRM); seconds <= 0 leaves the run unlimited.  0 or -1. */
int runlimit_start(long seconds, long grace_seconds);
/* True once the deadline has passed. */
bool runlimit_expired(void);
/* The limit runlimit_start was given (for messages), 0 when none. */
long runlimit_seconds(void);
/* Disarms it (the run is over). */
void runlimit_stop(void);

#endif
