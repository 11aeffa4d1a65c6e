/* Logging to stderr and, when asked, to journald/syslog.
 * Never pass key material, tickets or passwords to these functions. */
#ifndef ADENROLL_LOG_H
#define ADENROLL_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

enum log_level { LOG_LVL_ERROR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* verbosity: LOG_LVL_* shown on stderr; to_journal: also send to journald/syslog. */
void log_init(enum log_level verbosity, bool to_journal);
enum log_level log_get_level(void);
/* Whether log_init was asked for the journal. */
bool log_get_journal(void);

void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* For `adenroll doctor`, which shows each failure next to its check: while
 * buf is set, error and warning messages go into buf instead of stderr (the
 * last error wins over warnings; a later warning does not replace an error)
 * and *buf is "" when there was none.  log_capture(NULL, 0) stops it. */
void log_capture(char *buf, size_t len);
/* The last error logged (log_error or a failed event), "" when none: the
 * message of a --json error document. */
const char *log_last_error(void);

/* A lifecycle event with a stable journald MESSAGE_ID (enrolled, renewed,
 * pending, denied, failed; listed in adenroll(8)).  template_cn goes into the
 * TEMPLATE= field; the message is logged as given, so name the template in it.
 * The journal records events even under -q. */
enum log_event { LOG_EV_ENROLLED, LOG_EV_RENEWED, LOG_EV_PENDING, LOG_EV_DENIED, LOG_EV_FAILED,
		 /* less than OfflineExpirationPercent of a certificate's lifetime left */
		 LOG_EV_EXPIRING };
void log_event(enum log_event ev, const char *template_cn, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The facts of an event as journal fields (adenroll(8), JOURNAL MESSAGE IDS):
 * ADENROLL_CA, ADENROLL_SERIAL, ADENROLL_REQUEST_ID, ADENROLL_NOT_AFTER
 * (UTC, ISO 8601).  NULL / -1 / 0: the field is left out. */
struct log_event_facts {
	const char *ca;
	const char *serial;
	long request_id;
	time_t not_after;
};
void log_event_facts(enum log_event ev, const char *template_cn, const struct log_event_facts *facts,
		     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* journald's native protocol (log.c).  One field of a record into buf:
 * "NAME=value\n", or, for a value with a newline, "NAME\n", its length as
 * 64-bit little endian, the value and "\n".  Bytes written, 0 when it does
 * not fit in cap. */
size_t log_journal_field(char *buf, size_t cap, const char *name, const char *value);
/* Tests: send records to this AF_UNIX datagram socket (NULL: journald's
 * /run/systemd/journal/socket). */
void log_journal_socket(const char *path);

#endif
