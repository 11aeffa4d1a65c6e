/* stderr and journald/syslog logging.  Journal records carry
 * SYSLOG_IDENTIFIER=adenroll and, for lifecycle events, a stable MESSAGE_ID
 * and TEMPLATE= (listed in adenroll(8), JOURNAL MESSAGE IDS).  Records go to
 * journald over its native protocol (one datagram per record on
 * /run/systemd/journal/socket, as systemd documents it in "Native Journal
 * Protocol"), so the process does not load libsystemd and what it pulls in. */
#include "adenroll-build.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"
#include "safetext.h"

/* Before log_init() (config errors, usage) messages go to stderr at info. */
static enum log_level verbosity = LOG_LVL_INFO;
static bool to_journal;
static bool stderr_is_journal;
static bool syslog_open;
static char *capture_buf;
static size_t capture_len;
static bool capture_has_error;
static char last_error[4096];

static const struct {
	const char *name;       /* ADENROLL_EVENT= value */
	const char *message_id; /* never change: admins filter on these */
	int priority;
	enum log_level level;   /* for stderr */
} events[] = {
	[LOG_EV_ENROLLED] = { "enrolled", "d60fe92ebd694f3e9003a6d6b1b1c576", LOG_NOTICE, LOG_LVL_INFO },
	[LOG_EV_RENEWED] = { "renewed", "d863cb40cbb14396a484e5dafc966295", LOG_NOTICE, LOG_LVL_INFO },
	[LOG_EV_PENDING] = { "pending", "f63e4a50360044d185962fae583fc892", LOG_NOTICE, LOG_LVL_INFO },
	[LOG_EV_DENIED] = { "denied", "308574267f5e43ada5612e163b387e47", LOG_WARNING, LOG_LVL_WARN },
	[LOG_EV_FAILED] = { "failed", "f44b7ef0e30941f6944a0dfd2bff2865", LOG_ERR, LOG_LVL_ERROR },
	[LOG_EV_EXPIRING] = { "expiring", "edb6ca3f7c1249bc824ddaa24c644c71", LOG_WARNING, LOG_LVL_WARN },
};

static const int level_priority[] = {
	[LOG_LVL_ERROR] = LOG_ERR, [LOG_LVL_WARN] = LOG_WARNING,
	[LOG_LVL_INFO] = LOG_INFO, [LOG_LVL_DEBUG] = LOG_DEBUG,
};
static const char *const level_prefix[] = {
	[LOG_LVL_ERROR] = "error: ", [LOG_LVL_WARN] = "warning: ",
	[LOG_LVL_INFO] = "", [LOG_LVL_DEBUG] = "debug: ",
};

/* systemd sets JOURNAL_STREAM=dev:ino when stderr is connected to the
 * journal (systemd.exec(5)); then native records replace stderr lines,
 * so a timer run does not log every message twice. */
static bool stderr_connected_to_journal(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!env || sscanf(env, "%llu:%llu", &dev, &ino) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_init(enum log_level level, bool journal)
{
	if (level < LOG_LVL_ERROR)
		level = LOG_LVL_ERROR;
	if (level > LOG_LVL_DEBUG)
		level = LOG_LVL_DEBUG;
	verbosity = level;
	to_journal = journal;
	stderr_is_journal = journal && stderr_connected_to_journal();
}

bool log_get_journal(void)
{
	return to_journal;
}

void log_capture(char *buf, size_t len)
{
	capture_buf = len ? buf : NULL;
	capture_len = len;
	capture_has_error = false;
	if (capture_buf)
		capture_buf[0] = '\0';
}

const char *log_last_error(void)
{
	return last_error;
}

enum log_level log_get_level(void)
{
	return verbosity;
}

static void to_syslog(int priority, const char *msg)
{
	if (!syslog_open) {
		openlog("adenroll", LOG_PID, LOG_DAEMON);
		syslog_open = true;
	}
	syslog(priority, "%s", msg);
}

struct event_info {
	const char *name;
	const char *message_id;
	const struct log_event_facts *facts;   /* may be NULL */
};

#define JOURNAL_SOCKET "/run/systemd/journal/socket"
static const char *journal_socket = JOURNAL_SOCKET;
static int journal_fd = -1;

void log_journal_socket(const char *path)
{
	journal_socket = path ? path : JOURNAL_SOCKET;
	if (journal_fd >= 0)
		close(journal_fd);
	journal_fd = -1;
}

size_t log_journal_field(char *buf, size_t cap, const char *name, const char *value)
{
	size_t nl = strlen(name), vl = strlen(value), need;

	if (!strchr(value, '\n')) {
		need = nl + 1 + vl + 1;
		if (need > cap)
			return 0;
		memcpy(buf, name, nl);
		buf[nl] = '=';
		memcpy(buf + nl + 1, value, vl);
		buf[need - 1] = '\n';
		return need;
	}
	/* NAME, newline, the value's length as 64-bit little endian, the value */
	need = nl + 1 + 8 + vl + 1;
	if (need > cap)
		return 0;
	memcpy(buf, name, nl);
	buf[nl] = '\n';
	for (int i = 0; i < 8; i++)
		buf[nl + 1 + i] = (char)((uint64_t)vl >> (8 * i) & 0xff);
	memcpy(buf + nl + 9, value, vl);
	buf[need - 1] = '\n';
	return need;
}

struct record {
	char buf[8192];
	size_t len;
	bool truncated;
};

static void field(struct record *r, const char *name, const char *value)
{
	size_t n = log_journal_field(r->buf + r->len, sizeof r->buf - r->len, name, value);

	if (n == 0)
		r->truncated = true;
	r->len += n;
}

/* 0 when journald took the record. */
static int journal_send(const struct record *r)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (r->truncated || strlen(journal_socket) >= sizeof sa.sun_path)
		return -1;
	strcpy(sa.sun_path, journal_socket);
	if (journal_fd < 0)
		journal_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (journal_fd < 0)
		return -1;
	if (sendto(journal_fd, r->buf, r->len, MSG_NOSIGNAL, (const struct sockaddr *)&sa, sizeof sa) < 0)
		return -1;
	return 0;
}

static void to_system_log(int priority, const struct event_info *event, const char *template_cn,
			  const char *msg)
{
	struct record r;
	char num[32];

	r.len = 0;
	r.truncated = false;
	snprintf(num, sizeof num, "%d", priority);
	field(&r, "MESSAGE", msg);
	field(&r, "PRIORITY", num);
	field(&r, "SYSLOG_IDENTIFIER", "adenroll");
	if (event) {
		const struct log_event_facts *x = event->facts;

		field(&r, "MESSAGE_ID", event->message_id);
		field(&r, "ADENROLL_EVENT", event->name);
		if (template_cn)
			field(&r, "TEMPLATE", template_cn);
		if (x && x->ca && *x->ca)
			field(&r, "ADENROLL_CA", x->ca);
		if (x && x->serial && *x->serial)
			field(&r, "ADENROLL_SERIAL", x->serial);
		if (x && x->request_id >= 0) {
			snprintf(num, sizeof num, "%ld", x->request_id);
			field(&r, "ADENROLL_REQUEST_ID", num);
		}
		if (x && x->not_after > 0) {
			struct tm tm;

			if (gmtime_r(&x->not_after, &tm) && strftime(num, sizeof num, "%Y-%m-%dT%H:%M:%SZ", &tm))
				field(&r, "ADENROLL_NOT_AFTER", num);
		}
	}
	if (journal_send(&r) == 0)
		return;
	/* No journald (container, non-systemd init): syslog still records it. */
	to_syslog(priority, msg);
}

__attribute__((format(printf, 6, 0)))
static void emit(enum log_level level, int priority, const struct event_info *event,
		 const char *template_cn, bool force_journal, const char *fmt, va_list ap)
{
	char msg[4096];
	char tmpl[256];
	int n;

	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		snprintf(msg, sizeof(msg), "(unformattable message: %s)", fmt);
	else if ((size_t)n >= sizeof(msg))
		memcpy(msg + sizeof(msg) - 4, "...", 4);
	/* Text from the directory or a server ends up here: escape what could
	 * drive a terminal or split a journal line (safetext.h). */
	safetext_sanitize(msg, sizeof(msg));
	if (level == LOG_LVL_ERROR)
		snprintf(last_error, sizeof(last_error), "%s", msg);
	if (template_cn) {
		snprintf(tmpl, sizeof(tmpl), "%s", template_cn);
		safetext_sanitize(tmpl, sizeof(tmpl));
		template_cn = tmpl;
	}

	if (to_journal && (level <= verbosity || force_journal))
		to_system_log(priority, event, template_cn, msg);
	if (capture_buf && !event && level <= LOG_LVL_WARN) {
		if (level == LOG_LVL_ERROR || !capture_has_error)
			snprintf(capture_buf, capture_len, "%s", msg);
		capture_has_error = capture_has_error || level == LOG_LVL_ERROR;
		return;
	}
	if (level > verbosity || (to_journal && stderr_is_journal))
		return;
	fprintf(stderr, "adenroll: %s%s\n", level_prefix[level], msg);
}

#define DEFINE_LOG_FN(fn, level)                                                    \
	void fn(const char *fmt, ...)                                               \
	{                                                                           \
		va_list ap;                                                         \
		va_start(ap, fmt);                                                  \
		emit(level, level_priority[level], NULL, NULL, false, fmt, ap);     \
		va_end(ap);                                                         \
	}

DEFINE_LOG_FN(log_error, LOG_LVL_ERROR)
DEFINE_LOG_FN(log_warn, LOG_LVL_WARN)
DEFINE_LOG_FN(log_info, LOG_LVL_INFO)
DEFINE_LOG_FN(log_debug, LOG_LVL_DEBUG)

void log_event_facts(enum log_event ev, const char *template_cn, const struct log_event_facts *facts,
		     const char *fmt, ...)
{
	va_list ap;
	struct event_info info;
	struct log_event_facts clean;
	char ca[256], serial[128];

	if ((unsigned)ev >= sizeof(events) / sizeof(events[0]))
		ev = LOG_EV_FAILED;
	info.name = events[ev].name;
	info.message_id = events[ev].message_id;
	info.facts = NULL;
	if (facts) {
		/* CA names come from the directory: no control characters in a field. */
		clean = *facts;
		if (facts->ca) {
			snprintf(ca, sizeof ca, "%s", facts->ca);
			safetext_sanitize(ca, sizeof ca);
			clean.ca = ca;
		}
		if (facts->serial) {
			snprintf(serial, sizeof serial, "%s", facts->serial);
			safetext_sanitize(serial, sizeof serial);
			clean.serial = serial;
		}
		info.facts = &clean;
	}
	va_start(ap, fmt);
	emit(events[ev].level, events[ev].priority, &info, template_cn, true, fmt, ap);
	va_end(ap);
}

void log_event(enum log_event ev, const char *template_cn, const char *fmt, ...)
{
	va_list ap;
	struct event_info info;

	if ((unsigned)ev >= sizeof(events) / sizeof(events[0]))
		ev = LOG_EV_FAILED;
	info.name = events[ev].name;
	info.message_id = events[ev].message_id;
	info.facts = NULL;
	va_start(ap, fmt);
	/* Events are the record of what changed: the journal gets them even under -q. */
	emit(events[ev].level, events[ev].priority, &info, template_cn, true, fmt, ap);
	va_end(ap);
}
