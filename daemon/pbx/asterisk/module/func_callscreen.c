/*
 * func_callscreen: CALLSCREEN_MIRROR(<family>), the AstDB mirror's dialplan steps as one function.
 *
 * Part of callscreen (docs/asterisk-contract.md, "AstDB mirror", "The module"). Licensed GPL-2.0,
 * as Asterisk is: a module is loaded into Asterisk's process. Built against the installed Asterisk's
 * headers by scripts/build-asterisk-module; a build is for one Asterisk version.
 *
 * Why it exists: the mirror's dialplan form answers a call in 3–7 priorities and ~20 function calls
 * (header reads, AstDB reads, REGEX, CUT, the expression parser) and a UserEvent with its channel
 * snapshot. BENCHMARKS.md measured that at 1.3–1.6x the Asterisk CPU of BLACKLIST() per call, with no
 * single piece carrying the difference. This function does the same checks in C, in one priority,
 * and tells the daemon with a manager event that carries no channel snapshot.
 *
 * It answers exactly what the dialplan form answers (the contract's steps, read literally; the
 * real-Asterisk suites run both forms against the daemon's own verdicts):
 *   1. Only when the Privacy header is empty, P-Asserted-Identity and Remote-Party-ID are absent or
 *      assert exactly the caller ID, <family>/alive holds a time not yet passed (epoch seconds), the
 *      caller ID is "+digits" or digits, and <family>/did/<EXTEN> names an org.
 *   2. Listed: <family>/n/<org>/<caller> exists; its value is "<action>|<detail>".
 *   3. Allowed: the caller is not one of our DIDs (<family>/did/<caller>), and <family>/complete/<org>
 *      exists and its POSIX extended regex does not match the caller.
 *   4. A caller without "+": <family>/national/<org> ("<calling code>|<trunk prefix>|<pattern>") reads
 *      it into E.164 unless the pattern matches; then steps 2 and 3 for that number.
 * Answered: sets CALLSCREEN_ACTION and CALLSCREEN_DETAIL, sends the manager event
 * "Event: UserEvent / UserEvent: CallScreen" with From (the caller ID as received), To (EXTEN) and
 * Action, the fields UserEvent(CallScreen,…) sends, and returns "1". Otherwise returns "0" and sets
 * nothing: the dialplan asks the daemon over FastAGI.
 *
 * CALLSCREEN_MIRROR_CHECK(<family>,<did>,<caller>[,<Privacy>,<PAI>,<RPID>]) runs the same steps on
 * given values (headers in base64) and returns the answer as text, with no channel and no event: for
 * AMI's Getvar, which tests and a site checking a number use.
 *
 * The manager action CallScreenDBPut stores many of the mirror's keys in one action ("Put: <key>
 * <value>" lines, with a Count that must match); the daemon's syncs use it when the module is
 * loaded, one DBPut a key when it is not (put_action below).
 *
 * Where the dialplan form could take a broken pattern as "no match" (an unreadable value written by
 * hand), this function goes to FastAGI: only the daemon's own answer is ever given for an unclear case.
 */

#include "asterisk.h"

#include <regex.h>
#include <stdarg.h>
#include <time.h>

#include "asterisk/app.h"
#include "asterisk/astdb.h"
#include "asterisk/channel.h"
#include "asterisk/lock.h"
#include "asterisk/logger.h"
#include "asterisk/manager.h"
#include "asterisk/module.h"
#include "asterisk/pbx.h"
#include "asterisk/strings.h"
#include "asterisk/utils.h"

/*** DOCUMENTATION
	<function name="CALLSCREEN_MIRROR" language="en_US">
		<synopsis>
			Answer a call from callscreen's AstDB mirror, or say that the daemon must be asked.
		</synopsis>
		<syntax>
			<parameter name="family" required="true">
				<para>The AstDB family the daemon writes (its ami.astdb_family, default callscreen).</para>
			</parameter>
		</syntax>
		<description>
			<para>Returns 1 and sets CALLSCREEN_ACTION and CALLSCREEN_DETAIL when the mirror answers the
			call, 0 when the daemon must be asked over FastAGI.</para>
		</description>
	</function>
	<function name="CALLSCREEN_MIRROR_CHECK" language="en_US">
		<synopsis>
			What CALLSCREEN_MIRROR() would answer a call, without a call.
		</synopsis>
		<syntax>
			<parameter name="family" required="true" />
			<parameter name="did" required="true" />
			<parameter name="caller" required="true" />
			<parameter name="privacy"><para>The Privacy header, base64.</para></parameter>
			<parameter name="pai"><para>The P-Asserted-Identity header, base64.</para></parameter>
			<parameter name="rpid"><para>The Remote-Party-ID header, base64.</para></parameter>
		</syntax>
		<description>
			<para>Returns the listed value ("action|detail"), "allow|", or "fastagi".</para>
		</description>
	</function>
 ***/

/*! AstDB values read here: the daemon writes at most 1,017 characters (one AMI line); hand edits may be longer. */
#define VALUE_LEN 4096
/*! AstDB keys: family-relative, "n/<org>/<number>". */
#define KEY_LEN 512
/*! Caller IDs and DIDs longer than this are not answered here (E.164 has at most 15 digits). */
#define NUMBER_LEN 64
/*! Compiled patterns kept: one complete/ and one national/ pattern per org in use. */
#define PATTERN_CACHE_SLOTS 16

struct cached_pattern {
	char *text;
	regex_t compiled;
	/*! 0: the text does not compile (kept, so that it is compiled and logged once, not on every call). */
	int ok;
	unsigned int uses;
};

/*! regcomp costs ~15 us for a long pattern; each pattern is compiled once and kept. */
static struct cached_pattern pattern_cache[PATTERN_CACHE_SLOTS];
static unsigned int pattern_clock;
AST_MUTEX_DEFINE_STATIC(pattern_lock);

/*!
 * 1 when the POSIX extended regex matches, 0 when it does not, -1 when it does not compile (the caller
 * then gives the call to FastAGI). Same flags as REGEX(): REG_EXTENDED | REG_NOSUB.
 */
static int pattern_matches(const char *pattern, const char *subject)
{
	struct cached_pattern *slot = NULL;
	struct cached_pattern *oldest = &pattern_cache[0];
	int i, res;

	ast_mutex_lock(&pattern_lock);
	for (i = 0; i < PATTERN_CACHE_SLOTS; i++) {
		struct cached_pattern *p = &pattern_cache[i];
		if (p->text && !strcmp(p->text, pattern)) {
			slot = p;
			break;
		}
		if (!p->text || (oldest->text && p->uses < oldest->uses)) {
			oldest = p;
		}
	}
	if (!slot) {
		char *text = ast_strdup(pattern);
		if (!text) {
			ast_mutex_unlock(&pattern_lock);
			return -1;
		}
		if (oldest->text) {
			if (oldest->ok) {
				regfree(&oldest->compiled);
			}
			ast_free(oldest->text);
			oldest->text = NULL;
		}
		oldest->ok = !regcomp(&oldest->compiled, pattern, REG_EXTENDED | REG_NOSUB);
		if (!oldest->ok) {
			ast_log(LOG_WARNING, "CALLSCREEN_MIRROR: an AstDB pattern does not compile; its calls go to FastAGI\n");
		}
		oldest->text = text;
		slot = oldest;
	}
	slot->uses = ++pattern_clock;
	if (!slot->ok) {
		ast_mutex_unlock(&pattern_lock);
		return -1;
	}
	/* Held across regexec (~1-2 us): the slot may not be replaced under it. */
	res = regexec(&slot->compiled, subject, 0, NULL, 0) == 0 ? 1 : 0;
	ast_mutex_unlock(&pattern_lock);
	return res;
}

/*! ^([+][1-9])?[0-9]+$ */
static int is_caller_id(const char *s)
{
	if (*s == '+') {
		if (s[1] < '1' || s[1] > '9') {
			return 0;
		}
		s += 2;
	}
	if (!*s) {
		return 0;
	}
	for (; *s; s++) {
		if (*s < '0' || *s > '9') {
			return 0;
		}
	}
	return 1;
}

/*! [A-Za-z0-9 ._-]*< : the display name the contract accepts before the URI. */
static const char *after_display_name(const char *h)
{
	while ((*h >= 'A' && *h <= 'Z') || (*h >= 'a' && *h <= 'z') || (*h >= '0' && *h <= '9')
		|| *h == ' ' || *h == '.' || *h == '_' || *h == '-') {
		h++;
	}
	return *h == '<' ? h + 1 : NULL;
}

/*! sips?:<caller>@[^@>]*> ; returns what follows the ">", or NULL. */
static const char *after_sip_uri(const char *h, const char *caller)
{
	size_t n = strlen(caller);
	if (!strncmp(h, "sip:", 4)) {
		h += 4;
	} else if (!strncmp(h, "sips:", 5)) {
		h += 5;
	} else {
		return NULL;
	}
	if (strncmp(h, caller, n) || h[n] != '@') {
		return NULL;
	}
	h += n + 1;
	while (*h && *h != '@' && *h != '>') {
		h++;
	}
	return *h == '>' ? h + 1 : NULL;
}

/*!
 * The contract's P-Asserted-Identity check: absent, or (the regex is not anchored at its end)
 * [A-Za-z0-9 ._-]*<(sips?:<caller>@[^@>]*|tel:<caller>(;[^@>]*)?)>
 */
static int pai_agrees(const char *h, const char *caller)
{
	size_t n = strlen(caller);
	if (!*h) {
		return 1;
	}
	if (!(h = after_display_name(h))) {
		return 0;
	}
	if (strncmp(h, "tel:", 4)) {
		return after_sip_uri(h, caller) != NULL;
	}
	h += 4;
	if (strncmp(h, caller, n)) {
		return 0;
	}
	h += n;
	if (*h == '>') {
		return 1;
	}
	if (*h != ';') {
		return 0;
	}
	while (*h && *h != '@' && *h != '>') {
		h++;
	}
	return *h == '>';
}

/*!
 * The contract's Remote-Party-ID check: absent, or the whole value is
 * [A-Za-z0-9 ._-]*<sips?:<caller>@[^@>]*>(;party=calling|;screen=yes|;screen=no|;privacy=off)*
 */
static int rpid_agrees(const char *h, const char *caller)
{
	static const char *const params[] = { ";party=calling", ";screen=yes", ";screen=no", ";privacy=off" };
	if (!*h) {
		return 1;
	}
	if (!(h = after_display_name(h)) || !(h = after_sip_uri(h, caller))) {
		return 0;
	}
	while (*h) {
		size_t i;
		for (i = 0; i < ARRAY_LEN(params); i++) {
			size_t n = strlen(params[i]);
			if (!strncmp(h, params[i], n)) {
				h += n;
				break;
			}
		}
		if (i == ARRAY_LEN(params)) {
			return 0;
		}
	}
	return 1;
}

/*! db_get's answers. */
enum db_read {
	DB_FOUND,
	DB_ABSENT,
	/*! A key or value too long for the buffers: nothing may be concluded from it. */
	DB_UNUSABLE,
};

/*! ast_db_get with a formatted key. */
static enum db_read __attribute__((format(printf, 4, 5))) db_get(const char *family, char *value, int len, const char *fmt, ...)
{
	char key[KEY_LEN];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(key, sizeof(key), fmt, ap);
	va_end(ap);
	value[0] = '\0';
	if (n < 0 || n >= (int) sizeof(key)) {
		return DB_UNUSABLE;
	}
	if (ast_db_get(family, key, value, len)) {
		return DB_ABSENT;
	}
	/* ast_db_get cuts a longer value to fit, silently: a cut pattern or verdict would be another one. */
	return strlen(value) >= (size_t) len - 1 ? DB_UNUSABLE : DB_FOUND;
}

/*! No CR or LF: a value that goes into a manager event's line. */
static int is_one_line(const char *s)
{
	return !strpbrk(s, "\r\n");
}

enum answer {
	ANSWER_ASK,
	ANSWER_LISTED,
	ANSWER_ALLOWED,
};

/*! Steps 2 and 3 for one E.164 (or as-received) number; value holds the listed value on ANSWER_LISTED. */
static enum answer look_up(const char *family, const char *org, const char *number, char *value, int len)
{
	char pattern[VALUE_LEN];

	switch (db_get(family, value, len, "n/%s/%s", org, number)) {
	case DB_FOUND:
		return ANSWER_LISTED;
	case DB_UNUSABLE:
		return ANSWER_ASK;
	case DB_ABSENT:
		break;
	}
	if (db_get(family, pattern, sizeof(pattern), "did/%s", number) != DB_ABSENT) {
		return ANSWER_ASK;
	}
	if (db_get(family, pattern, sizeof(pattern), "complete/%s", org) != DB_FOUND) {
		return ANSWER_ASK;
	}
	return pattern_matches(pattern, number) == 0 ? ANSWER_ALLOWED : ANSWER_ASK;
}

/*! Step 4: the E.164 number a caller without "+" reads as, into key; 0 when it has none. */
static int national_reading(const char *family, const char *org, const char *caller, char *key, size_t key_len)
{
	char value[VALUE_LEN];
	char *cc, *trunk, *pattern, *rest;

	if (db_get(family, value, sizeof(value), "national/%s", org) != DB_FOUND) {
		return 0;
	}
	rest = value;
	cc = strsep(&rest, "|");
	trunk = strsep(&rest, "|");
	pattern = rest;
	if (!cc || !trunk || !pattern || pattern_matches(pattern, caller) != 0) {
		return 0;
	}
	/* The dialplan compares the caller's first digit with the whole second field. */
	if (*trunk && caller[0] == trunk[0] && !trunk[1]) {
		caller++;
	}
	return snprintf(key, key_len, "+%s%s", cc, caller) < (int) key_len;
}

/*! One call to answer: what the dialplan form reads from the channel and the INVITE. */
struct mirror_call {
	const char *family;
	/*! EXTEN: the DID dialled. */
	const char *did;
	/*! CALLERID(num). */
	const char *caller;
	/*! Reads one identity header ("" when absent); only reached once the cheaper checks pass. */
	void (*header)(void *source, const char *name, char *buf, size_t len);
	void *source;
};

/*!
 * The contract's steps for one call. ANSWER_LISTED: *action and *detail point into value (split at
 * its first "|"); ANSWER_ALLOWED: "allow" and ""; ANSWER_ASK: the daemon decides.
 */
static enum answer mirror_answer(const struct mirror_call *call, char *value, int value_len,
	const char **action, const char **detail)
{
	char header[VALUE_LEN], org[KEY_LEN], national[NUMBER_LEN];
	enum answer answer;
	long long alive;
	char *bar;

	/* Step 1: what the daemon would read differently, or a mirror that may be stale. */
	if (!is_caller_id(call->caller) || strlen(call->caller) >= NUMBER_LEN
		|| ast_strlen_zero(call->did) || !is_one_line(call->did)) {
		return ANSWER_ASK;
	}
	if (db_get(call->family, header, sizeof(header), "alive") != DB_FOUND
		|| sscanf(header, "%lld", &alive) != 1 || alive < (long long) time(NULL)) {
		return ANSWER_ASK;
	}
	if (db_get(call->family, org, sizeof(org), "did/%s", call->did) != DB_FOUND || ast_strlen_zero(org)) {
		return ANSWER_ASK;
	}
	call->header(call->source, "Privacy", header, sizeof(header));
	if (!ast_strlen_zero(header)) {
		return ANSWER_ASK;
	}
	call->header(call->source, "P-Asserted-Identity", header, sizeof(header));
	if (!pai_agrees(header, call->caller)) {
		return ANSWER_ASK;
	}
	call->header(call->source, "Remote-Party-ID", header, sizeof(header));
	if (!rpid_agrees(header, call->caller)) {
		return ANSWER_ASK;
	}

	/* Steps 2 and 3 for the caller ID as received, then step 4 for a caller without "+". */
	answer = look_up(call->family, org, call->caller, value, value_len);
	if (answer == ANSWER_ASK && call->caller[0] != '+'
		&& national_reading(call->family, org, call->caller, national, sizeof(national))) {
		answer = look_up(call->family, org, national, value, value_len);
	}
	if (answer == ANSWER_ALLOWED) {
		*action = "allow";
		*detail = "";
	} else if (answer == ANSWER_LISTED) {
		if (!is_one_line(value)) {
			return ANSWER_ASK;
		}
		bar = strchr(value, '|');
		*detail = bar ? bar + 1 : "";
		if (bar) {
			*bar = '\0';
		}
		*action = value;
	}
	return answer;
}

/*! The identity headers the steps read; a bit each in channel_headers.present. */
static const char *const identity_headers[] = { "Privacy", "P-Asserted-Identity", "Remote-Party-ID" };

/*!
 * The call's INVITE, read through res_pjsip's dialplan functions. Each PJSIP_HEADER() read is a task
 * pushed to the SIP session's thread and waited for; most INVITEs carry none of the three identity
 * headers, so the names are listed once (PJSIP_HEADERS(), one task) and only those present are read.
 */
struct channel_headers {
	struct ast_channel *chan;
	/*! Bits of identity_headers present; -1 until listed. */
	int present;
};

static int identity_header_bit(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(identity_headers); i++) {
		if (!strcasecmp(name, identity_headers[i])) {
			return 1 << i;
		}
	}
	return 0;
}

/*! Which identity headers the INVITE has, by name in any case; all of them when it cannot be listed. */
static int list_identity_headers(struct ast_channel *chan)
{
	char names[VALUE_LEN];
	char *rest = names, *name;
	int present = 0;

	names[0] = '\0';
	if (ast_func_read(chan, "PJSIP_HEADERS()", names, sizeof(names))) {
		/* Not a PJSIP channel, no header list, or a list longer than the buffer: read each one. */
		return (1 << ARRAY_LEN(identity_headers)) - 1;
	}
	while ((name = strsep(&rest, ","))) {
		present |= identity_header_bit(ast_strip(name));
	}
	return present;
}

/*! A header of the call's INVITE, "" when absent or not a PJSIP channel (as ${PJSIP_HEADER(…)} reads). */
static void channel_header(void *source, const char *name, char *buf, size_t len)
{
	struct channel_headers *h = source;
	char fn[64];

	buf[0] = '\0';
	if (h->present < 0) {
		h->present = list_identity_headers(h->chan);
	}
	if (!(h->present & identity_header_bit(name))) {
		return;
	}
	snprintf(fn, sizeof(fn), "PJSIP_HEADER(read,%s)", name);
	if (ast_func_read(h->chan, fn, buf, len)) {
		buf[0] = '\0';
	}
}

static int valid_family(const char *cmd, const char *family)
{
	if (ast_strlen_zero(family) || strchr(family, '/')) {
		ast_log(LOG_WARNING, "%s: the first argument is the AstDB family the daemon writes, e.g. callscreen\n", cmd);
		return 0;
	}
	return 1;
}

static int mirror_read(struct ast_channel *chan, const char *cmd, char *data, char *buf, size_t len)
{
	char caller[NUMBER_LEN] = "", exten[NUMBER_LEN] = "", channel_name[AST_CHANNEL_NAME] = "";
	char uniqueid[AST_MAX_UNIQUEID] = "", value[VALUE_LEN];
	const char *action = "", *detail = "";
	struct channel_headers headers = { .chan = chan, .present = -1 };
	struct mirror_call call = { .family = data, .did = exten, .caller = caller, .header = channel_header, .source = &headers };
	struct ast_party_caller *party;

	if (!chan) {
		ast_log(LOG_WARNING, "%s needs a channel (CALLSCREEN_MIRROR_CHECK() answers without one)\n", cmd);
		return -1;
	}
	if (!valid_family(cmd, data)) {
		return -1;
	}
	ast_copy_string(buf, "0", len);

	ast_channel_lock(chan);
	party = ast_channel_caller(chan);
	if (party->id.number.valid && party->id.number.str && strlen(party->id.number.str) < sizeof(caller)) {
		ast_copy_string(caller, party->id.number.str, sizeof(caller));
	}
	if (strlen(ast_channel_exten(chan)) < sizeof(exten)) {
		ast_copy_string(exten, ast_channel_exten(chan), sizeof(exten));
	}
	ast_copy_string(channel_name, ast_channel_name(chan), sizeof(channel_name));
	ast_copy_string(uniqueid, ast_channel_uniqueid(chan), sizeof(uniqueid));
	ast_channel_unlock(chan);

	if (mirror_answer(&call, value, sizeof(value), &action, &detail) == ANSWER_ASK) {
		return 0;
	}
	pbx_builtin_setvar_helper(chan, "CALLSCREEN_ACTION", action);
	pbx_builtin_setvar_helper(chan, "CALLSCREEN_DETAIL", detail);
	/* UserEvent(CallScreen,…)'s fields, without the channel snapshot the application adds. */
	manager_event(EVENT_FLAG_USER, "UserEvent",
		"Channel: %s\r\nUniqueid: %s\r\nUserEvent: CallScreen\r\nFrom: %s\r\nTo: %s\r\nAction: %s\r\n",
		channel_name, uniqueid, caller, exten, action);
	ast_copy_string(buf, "1", len);
	return 0;
}

/*! CALLSCREEN_MIRROR_CHECK()'s headers: decoded from its base64 arguments. */
struct given_headers {
	const char *privacy, *pai, *rpid;
};

static void given_header(void *source, const char *name, char *buf, size_t len)
{
	const struct given_headers *h = source;
	const char *b64 = !strcmp(name, "Privacy") ? h->privacy : !strcmp(name, "P-Asserted-Identity") ? h->pai : h->rpid;
	int n = 0;

	if (!ast_strlen_zero(b64) && len > 1) {
		n = ast_base64decode((unsigned char *) buf, b64, len - 1);
	}
	buf[n < 0 ? 0 : n] = '\0';
}

/*!
 * CALLSCREEN_MIRROR_CHECK(<family>,<did>,<caller>[,<Privacy>,<PAI>,<RPID>], headers in base64): what
 * CALLSCREEN_MIRROR() would answer such a call, without a call and without telling the daemon —
 * "<action>|<detail>", "allow|", or "fastagi". For AMI's Getvar (it needs no channel): the
 * real-Asterisk comparison with the daemon's verdicts, and a site checking a number by hand.
 */
static int check_read(struct ast_channel *chan, const char *cmd, char *data, char *buf, size_t len)
{
	AST_DECLARE_APP_ARGS(args,
		AST_APP_ARG(family);
		AST_APP_ARG(did);
		AST_APP_ARG(caller);
		AST_APP_ARG(privacy);
		AST_APP_ARG(pai);
		AST_APP_ARG(rpid);
	);
	struct given_headers headers;
	struct mirror_call call;
	char value[VALUE_LEN];
	const char *action = "", *detail = "";

	AST_STANDARD_APP_ARGS(args, data);
	if (!valid_family(cmd, args.family)) {
		return -1;
	}
	headers = (struct given_headers) { .privacy = args.privacy, .pai = args.pai, .rpid = args.rpid };
	call = (struct mirror_call) {
		.family = args.family,
		.did = S_OR(args.did, ""),
		.caller = S_OR(args.caller, ""),
		.header = given_header,
		.source = &headers,
	};
	if (mirror_answer(&call, value, sizeof(value), &action, &detail) == ANSWER_ASK) {
		ast_copy_string(buf, "fastagi", len);
	} else {
		snprintf(buf, len, "%s|%s", action, detail);
	}
	return 0;
}

static struct ast_custom_function mirror_function = {
	.name = "CALLSCREEN_MIRROR",
	.read = mirror_read,
};

static struct ast_custom_function check_function = {
	.name = "CALLSCREEN_MIRROR_CHECK",
	.read = check_read,
};

/*!
 * Most keys one CallScreenDBPut stores. Asterisk's manager keeps at most AST_MAX_MANHEADERS - 1 (127)
 * lines of an action and drops the rest without a word; Action, ActionID, Family and Count take four.
 */
#define PUT_MAX_KEYS 120

/*!
 * Manager action CallScreenDBPut: the mirror's sync writes many keys in one action instead of one
 * DBPut each.
 *
 *   Action: CallScreenDBPut
 *   Family: callscreen
 *   Count: 2
 *   Put: n/demo/+15557770001 reject|607|exact:12|
 *   Put: did/+15550100 demo
 *
 * Each Put line is a key (up to its first space) and a value (the rest; none: empty). Count must
 * equal the number of Put lines, so that lines the manager dropped are seen. A wrong count, a line
 * without a key or with a key too long: nothing is stored. The keys are then stored in order; the
 * first AstDB refuses stops the action with an error that says how many were stored.
 *
 * Why: a DBPut costs Asterisk ~9 us of CPU, most of it the manager's parse, dispatch and one write()
 * of its response, not the AstDB row (BENCHMARKS.md). A sync of 1,000,000 numbers is that many
 * actions.
 */
static int put_action(struct mansession *s, const struct message *m)
{
	const char *family = astman_get_header(m, "Family");
	const char *count_text = astman_get_header(m, "Count");
	const char *puts[AST_MAX_MANHEADERS];
	unsigned int i, n = 0, count;
	char reason[96];

	if (ast_strlen_zero(family) || strchr(family, '/')) {
		astman_send_error(s, m, "Family: the AstDB family the daemon writes, without \"/\"");
		return 0;
	}
	if (sscanf(count_text, "%u", &count) != 1 || count > PUT_MAX_KEYS) {
		snprintf(reason, sizeof(reason), "Count: the number of Put lines, 0 to %d", PUT_MAX_KEYS);
		astman_send_error(s, m, reason);
		return 0;
	}
	for (i = 0; i < m->hdrcount; i++) {
		const char *h = m->headers[i];
		if (!strncasecmp(h, "Put:", 4) && n < ARRAY_LEN(puts)) {
			puts[n++] = ast_skip_blanks(h + 4);
		}
	}
	if (n != count) {
		snprintf(reason, sizeof(reason), "Count says %u Put lines, %u arrived: nothing stored", count, n);
		astman_send_error(s, m, reason);
		return 0;
	}
	/* Every line is checked before any key is stored: only AstDB itself can stop the action half-way. */
	for (i = 0; i < n; i++) {
		size_t key_len = strcspn(puts[i], " ");

		if (!key_len || key_len >= KEY_LEN) {
			snprintf(reason, sizeof(reason), "Put line %u: %s: nothing stored", i + 1, key_len ? "key too long" : "no key");
			astman_send_error(s, m, reason);
			return 0;
		}
	}
	for (i = 0; i < n; i++) {
		char key[KEY_LEN];
		size_t key_len = strcspn(puts[i], " ");

		memcpy(key, puts[i], key_len);
		key[key_len] = '\0';
		if (ast_db_put(family, key, puts[i][key_len] ? puts[i] + key_len + 1 : "")) {
			snprintf(reason, sizeof(reason), "Put line %u: AstDB refused it; %u stored", i + 1, i);
			astman_send_error(s, m, reason);
			return 0;
		}
	}
	astman_send_ack(s, m, "Stored");
	return 0;
}

static int unload_module(void)
{
	int i, res = ast_custom_function_unregister(&mirror_function);

	res |= ast_custom_function_unregister(&check_function);
	res |= ast_manager_unregister("CallScreenDBPut");

	ast_mutex_lock(&pattern_lock);
	for (i = 0; i < PATTERN_CACHE_SLOTS; i++) {
		if (pattern_cache[i].text) {
			if (pattern_cache[i].ok) {
				regfree(&pattern_cache[i].compiled);
			}
			ast_free(pattern_cache[i].text);
			pattern_cache[i].text = NULL;
		}
	}
	ast_mutex_unlock(&pattern_lock);
	return res;
}

static int load_module(void)
{
	if (ast_custom_function_register(&mirror_function)) {
		return AST_MODULE_LOAD_DECLINE;
	}
	if (ast_custom_function_register(&check_function)) {
		ast_custom_function_unregister(&mirror_function);
		return AST_MODULE_LOAD_DECLINE;
	}
	if (ast_manager_register2("CallScreenDBPut", EVENT_FLAG_SYSTEM, put_action, AST_MODULE_SELF,
			"Store many keys of callscreen's AstDB mirror in one action.",
			"Family: the AstDB family. Count: the number of Put lines. Put: <key> <value>, one line a key.")) {
		ast_custom_function_unregister(&check_function);
		ast_custom_function_unregister(&mirror_function);
		return AST_MODULE_LOAD_DECLINE;
	}
	return AST_MODULE_LOAD_SUCCESS;
}

AST_MODULE_INFO_STANDARD_EXTENDED(ASTERISK_GPL_KEY, "callscreen AstDB mirror lookup and bulk store");
