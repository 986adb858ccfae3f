/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Policies: parse and check policy files, load the policy directories as one set, and pick
 * the policy of a domain. See policy.h and srvm-policy(5); the man page lists every key this
 * file accepts, with the same ranges and defaults. */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>
#include <sys/stat.h>

#include "json-util.h"
#include "policy.h"
#include "utf8.h"

/* A policy file is small; anything larger is a mistake (a log, a core) and not read whole. */
#define POLICY_FILE_SIZE_MAX (1024 * 1024)
/* How much of an offending value an error sentence quotes. */
#define VALUE_QUOTE_MAX 40
/* JSON paths in messages ("migration.max_downtime_ms", "match.metadata[2].value"). */
#define JSON_PATH_MAX 256

#define BOND_NAME_MAX 15 /* IFNAMSIZ - 1 */
#define IDENTIFIER_MAX 64
#define TEXT_MAX 1024
#define TEMPLATE_MAX 8192

/* The built-in defaults: the default policy, and every key a policy leaves out. */
#define DEFAULT_BOND "bond0"
#define DEFAULT_AGENT_TIMEOUT (10 * USEC_PER_SEC)
#define DEFAULT_MAX_DOWNTIME_MS 20
#define DEFAULT_AFTER_ITERATIONS 5
#define DEFAULT_DOWNTIME_STEP_MS 100
#define DEFAULT_DOWNTIME_CEILING_MS 2000
#define DEFAULT_RETRIES 3
#define DEFAULT_BACKOFF (2 * USEC_PER_SEC)

#define MAX_DOWNTIME_MS_MAX 60000
#define BANDWIDTH_MIB_S_MAX 1048576
#define AFTER_ITERATIONS_MAX 1000
#define PARALLEL_CONNECTIONS_MAX 255 /* QEMU's multifd-channels */
#define RETRIES_MAX 10
#define BUDGET_SEC_MAX 86400.0
#define AGENT_TIMEOUT_SEC_MAX 600.0
#define BACKOFF_SEC_MAX 600.0

const char *const policy_dirs_default[] = {
        POLICY_ADMIN_DIR,
        SRVM_POLICY_DATA_DIR,
        NULL,
};

typedef struct NamePattern {
        char *pattern;         /* owned */
        bool glob;             /* has *, ? or [ (or an escape): matched with fnmatch() */
        size_t literal_prefix; /* characters before the first wildcard */
} NamePattern;

typedef struct MetadataRule {
        char *namespace_uri; /* owned */
        char *element;       /* owned */
        char *value;         /* owned; NULL: the element only has to exist */
} MetadataRule;

/* The destination phases that have a retry rule, in PolicyRetry's array. */
enum {
        RETRY_PLUG,
        RETRY_LINK,
        RETRY_FAILBACK,
        _RETRY_MAX,
};

static const char *const retry_key[_RETRY_MAX] = {
        [RETRY_PLUG] = "plug",
        [RETRY_LINK] = "link",
        [RETRY_FAILBACK] = "failback",
};

struct Policy {
        char *name;        /* owned */
        char *path;        /* owned; NULL for the built-in default */
        char *description; /* owned; NULL if none */

        NamePattern *names; /* owned, n_names of them */
        size_t n_names;
        char **uuids; /* owned, lower case, n_uuids of them */
        size_t n_uuids;
        MetadataRule *metadata; /* owned, n_metadata of them */
        size_t n_metadata;

        char *bond; /* owned */
        char *vf;   /* owned; NULL: automatic */
        usec_t agent_timeout;

        PolicyPlugSource plug_source;
        char *plug_network;  /* owned */
        char *plug_model;    /* owned */
        char *plug_template; /* owned */

        usec_t budget[_PHASE_MAX];
        PolicyMigrationSettings migration;
        PolicyConvergence convergence;
        PolicyRetry retry[_RETRY_MAX];

        unsigned max_migrations; /* .host.max_migrations, default policy only; 0: not given */
};

struct PolicySet {
        Policy **policies; /* owned, n of them, sorted by name; the default among them */
        size_t n;
        const Policy *default_policy; /* one of policies */
};

static const char *const policy_match_kind_table[_POLICY_MATCH_KIND_MAX] = {
        [POLICY_MATCH_DEFAULT] = "default",
        [POLICY_MATCH_GLOB] = "glob",
        [POLICY_MATCH_NAME] = "name",
        [POLICY_MATCH_METADATA] = "metadata",
        [POLICY_MATCH_UUID] = "uuid",
};
DEFINE_STRING_TABLE_LOOKUP(policy_match_kind, PolicyMatchKind);

static const char *const policy_plug_source_table[_POLICY_PLUG_SOURCE_MAX] = {
        [POLICY_PLUG_RECORDED] = "recorded",
        [POLICY_PLUG_NETWORK] = "network",
        [POLICY_PLUG_TEMPLATE] = "template",
};
DEFINE_STRING_TABLE_LOOKUP(policy_plug_source, PolicyPlugSource);

static const char *const policy_convergence_action_table[_POLICY_CONVERGENCE_ACTION_MAX] = {
        [POLICY_CONVERGENCE_RAISE_DOWNTIME] = "raise-downtime",
        [POLICY_CONVERGENCE_POSTCOPY] = "postcopy",
        [POLICY_CONVERGENCE_ABORT] = "abort",
};
DEFINE_STRING_TABLE_LOOKUP(policy_convergence_action, PolicyConvergenceAction);

static const char *const policy_migration_path_table[_POLICY_PATH_MAX] = {
        [POLICY_PATH_AUTO] = "auto",
        [POLICY_PATH_NATIVE] = "native",
        [POLICY_PATH_FAILOVER] = "failover",
};
DEFINE_STRING_TABLE_LOOKUP(policy_migration_path, PolicyMigrationPath);

static const char *const policy_compression_table[_POLICY_COMPRESSION_MAX] = {
        [POLICY_COMPRESSION_NONE] = "none",
        [POLICY_COMPRESSION_XBZRLE] = "xbzrle",
        [POLICY_COMPRESSION_MT] = "mt",
};
DEFINE_STRING_TABLE_LOOKUP(policy_compression, PolicyCompression);

static const char *const policy_convergence_step_table[_POLICY_STEP_MAX] = {
        [POLICY_STEP_NONE] = "none",
        [POLICY_STEP_RAISE_DOWNTIME] = "raise-downtime",
        [POLICY_STEP_POSTCOPY] = "postcopy",
        [POLICY_STEP_ABORT] = "abort",
};
DEFINE_STRING_TABLE_LOOKUP(policy_convergence_step, PolicyConvergenceStep);

/* ---- the policy object ---- */

static void policy_init_defaults(Policy *p) {
        p->agent_timeout = DEFAULT_AGENT_TIMEOUT;
        p->plug_source = POLICY_PLUG_RECORDED;
        for (Phase i = 0; i < _PHASE_MAX; i++)
                p->budget[i] = phase_default_budget(i);
        p->migration = (PolicyMigrationSettings) {
                .path = POLICY_PATH_AUTO,
                .max_downtime_ms = DEFAULT_MAX_DOWNTIME_MS,
        };
        p->convergence = (PolicyConvergence) {
                .after_iterations = DEFAULT_AFTER_ITERATIONS,
                .action = POLICY_CONVERGENCE_RAISE_DOWNTIME,
                .downtime_step_ms = DEFAULT_DOWNTIME_STEP_MS,
                .downtime_ceiling_ms = DEFAULT_DOWNTIME_CEILING_MS,
        };
        for (size_t i = 0; i < _RETRY_MAX; i++)
                p->retry[i] = (PolicyRetry) { .retries = DEFAULT_RETRIES, .backoff = DEFAULT_BACKOFF };
}

static int policy_alloc(const char *name, const char *path, Policy **ret) {
        _cleanup_(policy_freep) Policy *p = NULL;

        p = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;
        policy_init_defaults(p);
        p->name = strdup(name);
        p->bond = strdup(DEFAULT_BOND);
        if (!p->name || !p->bond)
                return -ENOMEM;
        if (path) {
                p->path = strdup(path);
                if (!p->path)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(p);
        return 0;
}

int policy_new_default(Policy **ret) {
        if (!ret)
                return -EINVAL;
        return policy_alloc(POLICY_DEFAULT_NAME, NULL, ret);
}

Policy *policy_free(Policy *p) {
        if (!p)
                return NULL;

        for (size_t i = 0; i < p->n_names; i++)
                free(p->names[i].pattern);
        free(p->names);
        for (size_t i = 0; i < p->n_uuids; i++)
                free(p->uuids[i]);
        free(p->uuids);
        for (size_t i = 0; i < p->n_metadata; i++) {
                free(p->metadata[i].namespace_uri);
                free(p->metadata[i].element);
                free(p->metadata[i].value);
        }
        free(p->metadata);
        free(p->name);
        free(p->path);
        free(p->description);
        free(p->bond);
        free(p->vf);
        free(p->plug_network);
        free(p->plug_model);
        free(p->plug_template);
        free(p);
        return NULL;
}

const char *policy_get_name(const Policy *p) {
        return p ? p->name : NULL;
}

const char *policy_get_path(const Policy *p) {
        return p ? p->path : NULL;
}

const char *policy_get_description(const Policy *p) {
        return p ? p->description : NULL;
}

bool policy_is_default(const Policy *p) {
        return p && streq(p->name, POLICY_DEFAULT_NAME);
}

const char *policy_get_bond(const Policy *p) {
        return p ? p->bond : NULL;
}

const char *policy_get_vf(const Policy *p) {
        return p ? p->vf : NULL;
}

PolicyPlugSource policy_get_plug_source(const Policy *p) {
        return p ? p->plug_source : _POLICY_PLUG_SOURCE_INVALID;
}

const char *policy_get_plug_network(const Policy *p) {
        return p ? p->plug_network : NULL;
}

const char *policy_get_plug_model(const Policy *p) {
        return p ? p->plug_model : NULL;
}

const char *policy_get_plug_template(const Policy *p) {
        return p ? p->plug_template : NULL;
}

usec_t policy_get_phase_budget(const Policy *p, Phase phase) {
        if (!p || phase < 0 || phase >= _PHASE_MAX)
                return 0;
        return p->budget[phase];
}

usec_t policy_get_agent_timeout(const Policy *p) {
        return p ? p->agent_timeout : 0;
}

const PolicyMigrationSettings *policy_get_migration(const Policy *p) {
        return p ? &p->migration : NULL;
}

const PolicyConvergence *policy_get_convergence(const Policy *p) {
        return p ? &p->convergence : NULL;
}

static int retry_index(Phase phase) {
        switch (phase) {
        case PHASE_PLUG:
        case PHASE_ROLLBACK_PLUG:
                return RETRY_PLUG;
        case PHASE_LINK:
        case PHASE_ROLLBACK_LINK:
                return RETRY_LINK;
        case PHASE_FAILBACK:
        case PHASE_ROLLBACK_FAILBACK:
                return RETRY_FAILBACK;
        case PHASE_PREFLIGHT:
        case PHASE_FAILOVER:
        case PHASE_UNPLUG:
        case PHASE_MIGRATE:
        case PHASE_RECOVER:
        case PHASE_VERIFY:
        case _PHASE_MAX:
        case _PHASE_INVALID:
                break;
        }
        return -EINVAL;
}

int policy_get_retry(const Policy *p, Phase phase, PolicyRetry *ret) {
        int i;

        if (!p || !ret)
                return -EINVAL;
        i = retry_index(phase);
        if (i < 0)
                return i;
        *ret = p->retry[i];
        return 0;
}

usec_t policy_retry_delay(const PolicyRetry *r, unsigned attempt) {
        usec_t d;

        if (!r || attempt == 0)
                return 0;
        d = r->backoff;
        for (unsigned i = 1; i < attempt && d < POLICY_RETRY_DELAY_MAX; i++)
                d *= 2;
        return d < POLICY_RETRY_DELAY_MAX ? d : POLICY_RETRY_DELAY_MAX;
}

PolicyConvergenceStep policy_decide_convergence(const Policy *p, unsigned iteration,
                                                uint64_t current_downtime_ms,
                                                uint64_t *ret_downtime_ms) {
        if (!p)
                return _POLICY_STEP_INVALID;
        return policy_convergence_decide(&p->convergence, iteration, current_downtime_ms, ret_downtime_ms);
}

PolicyConvergenceStep policy_convergence_decide(const PolicyConvergence *c, unsigned iteration,
                                                uint64_t current_downtime_ms,
                                                uint64_t *ret_downtime_ms) {
        uint64_t next;

        if (!c)
                return _POLICY_STEP_INVALID;
        if (iteration < c->after_iterations)
                return POLICY_STEP_NONE;

        switch (c->action) {
        case POLICY_CONVERGENCE_RAISE_DOWNTIME:
                if (iteration % c->after_iterations != 0 || current_downtime_ms >= c->downtime_ceiling_ms)
                        return POLICY_STEP_NONE;
                next = current_downtime_ms + c->downtime_step_ms;
                if (next > c->downtime_ceiling_ms)
                        next = c->downtime_ceiling_ms;
                if (ret_downtime_ms)
                        *ret_downtime_ms = next;
                return POLICY_STEP_RAISE_DOWNTIME;
        case POLICY_CONVERGENCE_POSTCOPY:
                return POLICY_STEP_POSTCOPY;
        case POLICY_CONVERGENCE_ABORT:
                return POLICY_STEP_ABORT;
        case _POLICY_CONVERGENCE_ACTION_MAX:
        case _POLICY_CONVERGENCE_ACTION_INVALID:
                break;
        }
        return _POLICY_STEP_INVALID;
}

void policy_apply_to_params(const Policy *p, MigrationParams *params) {
        if (!p || !params)
                return;
        params->bond = p->bond;
        params->vf = p->vf;
        params->settings = &p->migration;
        params->convergence = &p->convergence;
        for (Phase i = 0; i < _PHASE_MAX; i++) {
                PolicyRetry retry;

                params->phase_budget[i] = p->budget[i];
                if (policy_get_retry(p, i, &retry) >= 0) {
                        params->retries[i] = retry.retries;
                        params->retry_backoff[i] = retry.backoff;
                }
        }
}

/* ---- what names and values may look like ---- */

static bool string_has_only(const char *s, size_t max, const char *extra) {
        size_t n = strlen(s);

        if (n == 0 || n > max)
                return false;
        for (const char *c = s; *c; c++)
                if (!isascii((unsigned char) *c) ||
                    (!isalnum((unsigned char) *c) && !strchr(extra, *c)))
                        return false;
        return true;
}

static bool is_mac(const char *s) {
        if (!s || strlen(s) != 17)
                return false;
        for (size_t i = 0; i < 17; i++)
                if (i % 3 == 2 ? s[i] != ':' : !isxdigit((unsigned char) s[i]))
                        return false;
        return true;
}

/* libvirt's device aliases: "ua-sriov0", "hostdev0", "net1". */
static bool is_alias(const char *s) {
        return s && string_has_only(s, IDENTIFIER_MAX, "-_");
}

static bool is_bond_name(const char *s) {
        return string_has_only(s, BOND_NAME_MAX, "-_.") && !streq(s, ".") && !streq(s, "..");
}

static bool is_vf(const char *s) {
        return streq(s, "auto") || is_mac(s) || is_alias(s);
}

static bool is_network_name(const char *s) {
        return string_has_only(s, IDENTIFIER_MAX, "-_.");
}

static bool is_model(const char *s) {
        return string_has_only(s, IDENTIFIER_MAX, "-_") && strncmp(s, "virtio", 6) != 0;
}

static bool is_uuid(const char *s) {
        if (strlen(s) != 36)
                return false;
        for (size_t i = 0; i < 36; i++)
                if (i == 8 || i == 13 || i == 18 || i == 23 ? s[i] != '-' : !isxdigit((unsigned char) s[i]))
                        return false;
        return true;
}

/* An XML local name, as an element under <metadata> has. */
static bool is_element_name(const char *s) {
        if (!isascii((unsigned char) s[0]) || (!isalpha((unsigned char) s[0]) && s[0] != '_'))
                return false;
        return string_has_only(s, IDENTIFIER_MAX, "-_.");
}

static bool is_text(const char *s, size_t max) {
        return strlen(s) <= max;
}

static bool is_nonempty_text(const char *s) {
        return *s && strlen(s) <= TEXT_MAX;
}

static bool is_glob_char(char c) {
        return c == '*' || c == '?' || c == '[' || c == '\\';
}

/* NULL if pattern is a usable name or glob, else why not. fnmatch() would take anything and
 * treat a broken bracket as a literal; an admin who writes "web-[" surely meant otherwise. */
static const char *glob_check(const char *pattern) {
        if (!*pattern)
                return "an empty pattern matches no domain";
        if (strlen(pattern) > TEXT_MAX)
                return "the pattern is too long";
        for (const char *c = pattern; *c; c++) {
                if (*c == '\\') {
                        if (!c[1])
                                return "it ends in a lone '\\'";
                        c++;
                } else if (*c == '[') {
                        const char *e = c + 1;

                        if (*e == '!' || *e == '^')
                                e++;
                        if (*e == ']')
                                e++;
                        e = strchr(e, ']');
                        if (!e)
                                return "'[' without a closing ']'";
                        c = e;
                }
        }
        return NULL;
}

static size_t glob_literal_prefix(const char *pattern) {
        size_t n = 0;

        for (const char *c = pattern; *c; c++, n++) {
                if (*c == '\\')
                        c++;
                else if (is_glob_char(*c))
                        break;
        }
        return n;
}

/* ---- parsing, with one sentence for the first problem found ---- */

typedef struct Parser {
        const char *file;
        char *error; /* owned: the sentence */
} Parser;

/* An error quotes the file's name, keys and values: it goes onto D-Bus and into the log, so
 * it is made valid UTF-8 without control characters. Takes e; NULL if out of memory. */
static char *escape_error(char *e) {
        char *escaped = utf8_escape(e, 0);

        free(e);
        return escaped;
}

_printf_(4, 5)
static int parser_fail(Parser *ps, int error, const char *path, const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL;
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vasprintf(&msg, fmt, ap);
        va_end(ap);
        free(ps->error);
        ps->error = NULL;
        if (n < 0) {
                msg = NULL;
                return -ENOMEM;
        }
        if (path && *path)
                n = asprintf(&ps->error, "%s: %s: %s", ps->file, path, msg);
        else
                n = asprintf(&ps->error, "%s: %s", ps->file, msg);
        if (n < 0)
                ps->error = NULL;
        else
                ps->error = escape_error(ps->error);
        return error;
}

/* A JSON value as an error quotes it: "fast", 70000, true, null, an object, an array. */
static void describe_value(json_object *v, char *buf, size_t size) {
        const char *s;

        switch (json_object_get_type(v)) {
        case json_type_null:
                snprintf(buf, size, "null");
                return;
        case json_type_object:
                snprintf(buf, size, "an object");
                return;
        case json_type_array:
                snprintf(buf, size, "an array");
                return;
        case json_type_boolean:
        case json_type_double:
        case json_type_int:
        case json_type_string:
                break;
        }
        s = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!s)
                s = "?";
        if (strlen(s) > VALUE_QUOTE_MAX)
                snprintf(buf, size, "%.*s...", VALUE_QUOTE_MAX, s);
        else
                snprintf(buf, size, "%s", s);
}

_printf_(4, 5)
static int parser_fail_at_line(Parser *ps, int error, unsigned line, const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL;
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vasprintf(&msg, fmt, ap);
        va_end(ap);
        free(ps->error);
        ps->error = NULL;
        if (n < 0) {
                msg = NULL;
                return -ENOMEM;
        }
        if (asprintf(&ps->error, "%s:%u: %s", ps->file, line, msg) < 0)
                ps->error = NULL;
        else
                ps->error = escape_error(ps->error);
        return error;
}

static int parser_fail_expected(Parser *ps, const char *path, json_object *v, const char *expected) {
        char got[VALUE_QUOTE_MAX + 8];

        describe_value(v, got, sizeof got);
        return parser_fail(ps, -EINVAL, path, "expected %s, got %s", expected, got);
}

/* Paths longer than JSON_PATH_MAX are cut short: they only appear in messages. */
static void path_child(char *buf, const char *path, const char *key) {
        size_t n = strnlen(path, JSON_PATH_MAX - 1), k = strnlen(key, JSON_PATH_MAX - 1 - n);

        memmove(buf, path, n);
        if (n + 1 + k >= JSON_PATH_MAX)
                k = n + 1 < JSON_PATH_MAX ? JSON_PATH_MAX - 2 - n : 0;
        if (n + 1 < JSON_PATH_MAX) {
                buf[n++] = '.';
                memcpy(buf + n, key, k);
                n += k;
        }
        buf[n] = 0;
}

static void path_index(char *buf, const char *path, size_t i) {
        snprintf(buf, JSON_PATH_MAX, "%s[%zu]", path, i);
}

/* Every key of o must be one of keys (NULL-terminated). */
static int check_keys(Parser *ps, json_object *o, const char *path, const char *const *keys) {
        json_object_object_foreach(o, key, v) {
                char child[JSON_PATH_MAX], known[512] = "";
                bool found = false;

                (void) v;
                for (const char *const *k = keys; *k; k++)
                        if (streq(*k, key))
                                found = true;
                if (found)
                        continue;

                for (const char *const *k = keys; *k; k++) {
                        strncat(known, k == keys ? "" : ", ", sizeof known - strlen(known) - 1);
                        strncat(known, *k, sizeof known - strlen(known) - 1);
                }
                path_child(child, path, key);
                return parser_fail(ps, -EINVAL, child, "unknown key (known here: %s)", known);
        }
        return 0;
}

/* Whether o (NULL: a section left out) has the member key; *ret is its value, NULL for a
 * JSON null, which the checks then reject as "got null". */
static bool member(json_object *o, const char *key, json_object **ret) {
        *ret = NULL;
        return o && json_object_object_get_ex(o, key, ret);
}

static int parse_object(Parser *ps, json_object *v, const char *path) {
        if (!json_object_is_type(v, json_type_object))
                return parser_fail_expected(ps, path, v, "an object");
        return 0;
}

static int parse_uint(Parser *ps, json_object *v, const char *path, uint64_t min, uint64_t max,
                      uint64_t *ret) {
        char expected[96];
        int64_t x;

        snprintf(expected, sizeof expected, "an integer from %llu to %llu",
                 (unsigned long long) min, (unsigned long long) max);
        if (!json_object_is_type(v, json_type_int))
                return parser_fail_expected(ps, path, v, expected);
        x = json_object_get_int64(v);
        if (x < 0 || (uint64_t) x < min || (uint64_t) x > max)
                return parser_fail_expected(ps, path, v, expected);
        *ret = (uint64_t) x;
        return 0;
}

static int parse_unsigned(Parser *ps, json_object *v, const char *path, unsigned min, unsigned max,
                          unsigned *ret) {
        uint64_t x;
        int r;

        r = parse_uint(ps, v, path, min, max, &x);
        if (r < 0)
                return r;
        *ret = (unsigned) x;
        return 0;
}

/* Seconds as a JSON number, integer or not; zero only if allow_zero. */
static int parse_seconds(Parser *ps, json_object *v, const char *path, bool allow_zero, double max,
                         usec_t *ret) {
        char expected[96];
        double d;
        usec_t u;

        if (allow_zero)
                snprintf(expected, sizeof expected, "a number of seconds from 0 to %g", max);
        else
                snprintf(expected, sizeof expected, "a number of seconds above 0 and at most %g", max);
        if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
                return parser_fail_expected(ps, path, v, expected);
        d = json_object_get_double(v);
        if (!(d >= 0 && d <= max))
                return parser_fail_expected(ps, path, v, expected);
        u = (usec_t) (d * (double) USEC_PER_SEC + 0.5);
        if (u == 0 && !allow_zero)
                return parser_fail_expected(ps, path, v, expected);
        *ret = u;
        return 0;
}

static int parse_bool(Parser *ps, json_object *v, const char *path, bool *ret) {
        if (!json_object_is_type(v, json_type_boolean))
                return parser_fail_expected(ps, path, v, "true or false");
        *ret = json_object_get_boolean(v);
        return 0;
}

/* A string that check() accepts; expected says what that is. Replaces *ret. */
static int parse_string(Parser *ps, json_object *v, const char *path, bool (*check)(const char *),
                        const char *expected, char **ret) {
        const char *s;
        char *copy;

        if (!json_object_is_type(v, json_type_string))
                return parser_fail_expected(ps, path, v, expected);
        s = json_object_get_string(v);
        if (strlen(s) != (size_t) json_object_get_string_len(v))
                return parser_fail(ps, -EINVAL, path, "expected %s, got a string with a NUL character",
                                   expected);
        if (check && !check(s))
                return parser_fail_expected(ps, path, v, expected);
        copy = strdup(s);
        if (!copy)
                return -ENOMEM;
        free(*ret);
        *ret = copy;
        return 0;
}

static int parse_enum(Parser *ps, json_object *v, const char *path, const char *const *table,
                      size_t n, int *ret) {
        char expected[256] = "one of";
        int i;

        for (size_t k = 0; k < n; k++) {
                size_t l = strlen(expected);

                snprintf(expected + l, sizeof expected - l, "%s \"%s\"", k ? "," : "", table[k]);
        }
        if (!json_object_is_type(v, json_type_string))
                return parser_fail_expected(ps, path, v, expected);
        i = string_table_lookup(table, n, json_object_get_string(v));
        if (i < 0)
                return parser_fail_expected(ps, path, v, expected);
        *ret = i;
        return 0;
}

static bool is_description(const char *s) {
        return is_text(s, TEXT_MAX);
}

static int parse_names(Parser *ps, Policy *p, json_object *a, const char *path) {
        size_t n;

        if (!json_object_is_type(a, json_type_array))
                return parser_fail_expected(ps, path, a, "an array of domain names or glob patterns");
        n = json_object_array_length(a);
        p->names = calloc(n ? n : 1, sizeof *p->names);
        if (!p->names)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *v = json_object_array_get_idx(a, i);
                NamePattern *np = &p->names[p->n_names];
                char child[JSON_PATH_MAX];
                const char *why;
                int r;

                path_index(child, path, i);
                r = parse_string(ps, v, child, NULL, "a domain name or glob pattern", &np->pattern);
                if (r < 0)
                        return r;
                p->n_names++;
                why = glob_check(np->pattern);
                if (why)
                        return parser_fail(ps, -EINVAL, child, "\"%s\" is not a valid glob pattern: %s",
                                           np->pattern, why);
                np->literal_prefix = glob_literal_prefix(np->pattern);
                np->glob = strpbrk(np->pattern, "*?[\\") != NULL;
        }
        return 0;
}

static int parse_uuids(Parser *ps, Policy *p, json_object *a, const char *path) {
        size_t n;

        if (!json_object_is_type(a, json_type_array))
                return parser_fail_expected(ps, path, a, "an array of UUIDs");
        n = json_object_array_length(a);
        p->uuids = calloc(n ? n : 1, sizeof *p->uuids);
        if (!p->uuids)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                char child[JSON_PATH_MAX];
                int r;

                path_index(child, path, i);
                r = parse_string(ps, json_object_array_get_idx(a, i), child, is_uuid,
                                 "a UUID (8-4-4-4-12 hexadecimal digits)", &p->uuids[p->n_uuids]);
                if (r < 0)
                        return r;
                for (char *c = p->uuids[p->n_uuids]; *c; c++)
                        *c = (char) tolower((unsigned char) *c);
                p->n_uuids++;
        }
        return 0;
}

static int parse_metadata(Parser *ps, Policy *p, json_object *a, const char *path) {
        static const char *const keys[] = { "namespace", "element", "value", NULL };
        size_t n;

        if (!json_object_is_type(a, json_type_array))
                return parser_fail_expected(ps, path, a, "an array of objects");
        n = json_object_array_length(a);
        p->metadata = calloc(n ? n : 1, sizeof *p->metadata);
        if (!p->metadata)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *o = json_object_array_get_idx(a, i), *v;
                MetadataRule *m = &p->metadata[p->n_metadata];
                char child[JSON_PATH_MAX], key[JSON_PATH_MAX];
                int r;

                path_index(child, path, i);
                r = parse_object(ps, o, child);
                if (r < 0)
                        return r;
                r = check_keys(ps, o, child, keys);
                if (r < 0)
                        return r;
                p->n_metadata++;

                path_child(key, child, "namespace");
                if (!member(o, "namespace", &v))
                        return parser_fail(ps, -EINVAL, key, "missing; a metadata match needs the namespace URI");
                r = parse_string(ps, v, key, is_nonempty_text, "a namespace URI", &m->namespace_uri);
                if (r < 0)
                        return r;

                path_child(key, child, "element");
                if (!member(o, "element", &v))
                        return parser_fail(ps, -EINVAL, key, "missing; a metadata match needs the element name");
                r = parse_string(ps, v, key, is_element_name,
                                 "an XML element name without a prefix", &m->element);
                if (r < 0)
                        return r;

                path_child(key, child, "value");
                if (member(o, "value", &v)) {
                        r = parse_string(ps, v, key, is_description, "a string", &m->value);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static int parse_match(Parser *ps, Policy *p, json_object *root) {
        static const char *const keys[] = { "names", "uuids", "metadata", NULL };
        json_object *o, *v;
        bool present;
        int r;

        present = member(root, "match", &o);
        if (policy_is_default(p)) {
                if (present)
                        return parser_fail(ps, -EINVAL, ".match",
                                           "the default policy matches every domain and takes no match");
                return 0;
        }
        if (!present)
                return parser_fail(ps, -EINVAL, ".match", "missing; every policy but the default one needs it");
        r = parse_object(ps, o, ".match");
        if (r < 0)
                return r;
        r = check_keys(ps, o, ".match", keys);
        if (r < 0)
                return r;

        if (member(o, "names", &v)) {
                r = parse_names(ps, p, v, ".match.names");
                if (r < 0)
                        return r;
        }
        if (member(o, "uuids", &v)) {
                r = parse_uuids(ps, p, v, ".match.uuids");
                if (r < 0)
                        return r;
        }
        if (member(o, "metadata", &v)) {
                r = parse_metadata(ps, p, v, ".match.metadata");
                if (r < 0)
                        return r;
        }
        if (p->n_names + p->n_uuids + p->n_metadata == 0)
                return parser_fail(ps, -EINVAL, ".match",
                                   "names, uuids and metadata are all empty, so the policy would match no domain");
        return 0;
}

static int parse_guest(Parser *ps, Policy *p, json_object *root) {
        static const char *const keys[] = { "bond", "vf", "agent_timeout_s", NULL };
        json_object *o, *v;
        int r;

        if (!member(root, "guest", &o))
                return 0;
        r = parse_object(ps, o, ".guest");
        if (r < 0)
                return r;
        r = check_keys(ps, o, ".guest", keys);
        if (r < 0)
                return r;

        if (member(o, "bond", &v)) {
                r = parse_string(ps, v, ".guest.bond", is_bond_name,
                                 "an interface name of 1 to 15 letters, digits, '-', '_' or '.'", &p->bond);
                if (r < 0)
                        return r;
        }
        if (member(o, "vf", &v)) {
                r = parse_string(ps, v, ".guest.vf", is_vf,
                                 "\"auto\", a MAC address or a device alias", &p->vf);
                if (r < 0)
                        return r;
                if (streq(p->vf, "auto")) {
                        free(p->vf);
                        p->vf = NULL;
                } else if (is_mac(p->vf))
                        for (char *c = p->vf; *c; c++)
                                *c = (char) tolower((unsigned char) *c);
        }
        if (member(o, "agent_timeout_s", &v)) {
                r = parse_seconds(ps, v, ".guest.agent_timeout_s", false, AGENT_TIMEOUT_SEC_MAX,
                                  &p->agent_timeout);
                if (r < 0)
                        return r;
        }
        return 0;
}

static bool is_template(const char *s) {
        while (isspace((unsigned char) *s))
                s++;
        return strncmp(s, "<interface", 10) == 0 && strlen(s) <= TEMPLATE_MAX;
}

/* The first {word} of a template that is not {mac} or {alias}, copied to buf; false if none. */
static bool template_find_unknown(const char *t, char *buf, size_t size) {
        for (const char *c = strchr(t, '{'); c; c = strchr(c + 1, '{')) {
                size_t n = strspn(c + 1, "abcdefghijklmnopqrstuvwxyz_");

                if (n == 0 || c[1 + n] != '}')
                        continue;
                if ((n == 3 && strncmp(c + 1, "mac", 3) == 0) || (n == 5 && strncmp(c + 1, "alias", 5) == 0))
                        continue;
                snprintf(buf, size, "%.*s", (int) n + 2, c);
                return true;
        }
        return false;
}

static int parse_plug(Parser *ps, Policy *p, json_object *root) {
        static const char *const keys[] = { "source", "network", "model", "template", NULL };
        json_object *o, *v;
        char unknown[64];
        bool present;
        int r, i;

        if (!member(root, "plug", &o))
                return 0;
        r = parse_object(ps, o, ".plug");
        if (r < 0)
                return r;
        r = check_keys(ps, o, ".plug", keys);
        if (r < 0)
                return r;

        if (member(o, "source", &v)) {
                r = parse_enum(ps, v, ".plug.source", policy_plug_source_table,
                               ELEMENTSOF(policy_plug_source_table), &i);
                if (r < 0)
                        return r;
                p->plug_source = i;
        }

        present = member(o, "network", &v);
        if (present && p->plug_source != POLICY_PLUG_NETWORK)
                return parser_fail(ps, -EINVAL, ".plug.network", "only used with \"source\": \"network\"");
        if (!present && p->plug_source == POLICY_PLUG_NETWORK)
                return parser_fail(ps, -EINVAL, ".plug.network", "missing; \"source\": \"network\" needs it");
        if (present) {
                r = parse_string(ps, v, ".plug.network", is_network_name,
                                 "a libvirt network name of letters, digits, '-', '_' or '.'", &p->plug_network);
                if (r < 0)
                        return r;
        }

        present = member(o, "model", &v);
        if (present && p->plug_source != POLICY_PLUG_NETWORK)
                return parser_fail(ps, -EINVAL, ".plug.model", "only used with \"source\": \"network\"");
        if (present) {
                r = parse_string(ps, v, ".plug.model", is_model,
                                 "a NIC model name other than virtio", &p->plug_model);
                if (r < 0)
                        return r;
        }

        present = member(o, "template", &v);
        if (present && p->plug_source != POLICY_PLUG_TEMPLATE)
                return parser_fail(ps, -EINVAL, ".plug.template", "only used with \"source\": \"template\"");
        if (!present && p->plug_source == POLICY_PLUG_TEMPLATE)
                return parser_fail(ps, -EINVAL, ".plug.template", "missing; \"source\": \"template\" needs it");
        if (present) {
                r = parse_string(ps, v, ".plug.template", is_template,
                                 "an <interface> element", &p->plug_template);
                if (r < 0)
                        return r;
                if (template_find_unknown(p->plug_template, unknown, sizeof unknown))
                        return parser_fail(ps, -EINVAL, ".plug.template",
                                           "unknown placeholder %s; only {mac} and {alias} are replaced",
                                           unknown);
        }
        return 0;
}

static int parse_budgets(Parser *ps, Policy *p, json_object *root) {
        const char *keys[_PHASE_MAX + 1];
        json_object *o;
        int r;

        if (!member(root, "budgets_s", &o))
                return 0;
        r = parse_object(ps, o, ".budgets_s");
        if (r < 0)
                return r;
        for (Phase i = 0; i < _PHASE_MAX; i++)
                keys[i] = phase_to_string(i);
        keys[_PHASE_MAX] = NULL;
        r = check_keys(ps, o, ".budgets_s", keys);
        if (r < 0)
                return r;

        for (Phase i = 0; i < _PHASE_MAX; i++) {
                char child[JSON_PATH_MAX];
                json_object *v;

                if (!member(o, phase_to_string(i), &v))
                        continue;
                path_child(child, ".budgets_s", phase_to_string(i));
                r = parse_seconds(ps, v, child, false, BUDGET_SEC_MAX, &p->budget[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int parse_migration(Parser *ps, Policy *p, json_object *root) {
        static const char *const keys[] = {
                "path", "max_downtime_ms", "bandwidth_mib_s", "auto_converge", "allow_postcopy",
                "parallel_connections", "compression", NULL,
        };
        json_object *o, *v;
        int r, i;

        if (!member(root, "migration", &o))
                return 0;
        r = parse_object(ps, o, ".migration");
        if (r < 0)
                return r;
        r = check_keys(ps, o, ".migration", keys);
        if (r < 0)
                return r;

        if (member(o, "path", &v)) {
                r = parse_enum(ps, v, ".migration.path", policy_migration_path_table,
                               ELEMENTSOF(policy_migration_path_table), &i);
                if (r < 0)
                        return r;
                p->migration.path = i;
        }
        if (member(o, "max_downtime_ms", &v)) {
                r = parse_uint(ps, v, ".migration.max_downtime_ms", 1, MAX_DOWNTIME_MS_MAX,
                               &p->migration.max_downtime_ms);
                if (r < 0)
                        return r;
        }
        if (member(o, "bandwidth_mib_s", &v)) {
                r = parse_uint(ps, v, ".migration.bandwidth_mib_s", 0, BANDWIDTH_MIB_S_MAX,
                               &p->migration.bandwidth_mib_s);
                if (r < 0)
                        return r;
        }
        if (member(o, "auto_converge", &v)) {
                r = parse_bool(ps, v, ".migration.auto_converge", &p->migration.auto_converge);
                if (r < 0)
                        return r;
        }
        if (member(o, "allow_postcopy", &v)) {
                r = parse_bool(ps, v, ".migration.allow_postcopy", &p->migration.allow_postcopy);
                if (r < 0)
                        return r;
        }
        if (member(o, "parallel_connections", &v)) {
                r = parse_unsigned(ps, v, ".migration.parallel_connections", 0, PARALLEL_CONNECTIONS_MAX,
                                   &p->migration.parallel_connections);
                if (r < 0)
                        return r;
        }
        if (member(o, "compression", &v)) {
                r = parse_enum(ps, v, ".migration.compression", policy_compression_table,
                               ELEMENTSOF(policy_compression_table), &i);
                if (r < 0)
                        return r;
                p->migration.compression = i;
        }

        /* What QEMU 7.2 and libvirt 9.0 refuse at the migration's start, refused here. */
        if (p->migration.parallel_connections > 0 && p->migration.allow_postcopy)
                return parser_fail(ps, -EINVAL, ".migration.parallel_connections",
                                   "parallel connections (multifd) cannot be combined with allow_postcopy in QEMU 7.2");
        if (p->migration.parallel_connections > 0 && p->migration.compression != POLICY_COMPRESSION_NONE)
                return parser_fail(ps, -EINVAL, ".migration.compression",
                                   "\"%s\" compresses one stream: it cannot be combined with parallel_connections",
                                   policy_compression_to_string(p->migration.compression));
        return 0;
}

/* After .migration: the checks across the two sections need its values. */
static int parse_convergence(Parser *ps, Policy *p, json_object *root) {
        static const char *const keys[] = {
                "after_iterations", "action", "downtime_step_ms", "downtime_ceiling_ms", NULL,
        };
        json_object *o, *v;
        bool ceiling_given = false;
        int r, i;

        if (member(root, "convergence", &o)) {
                r = parse_object(ps, o, ".convergence");
                if (r < 0)
                        return r;
                r = check_keys(ps, o, ".convergence", keys);
                if (r < 0)
                        return r;
        }

        if (member(o, "after_iterations", &v)) {
                r = parse_unsigned(ps, v, ".convergence.after_iterations", 1, AFTER_ITERATIONS_MAX,
                                   &p->convergence.after_iterations);
                if (r < 0)
                        return r;
        }
        if (member(o, "action", &v)) {
                r = parse_enum(ps, v, ".convergence.action", policy_convergence_action_table,
                               ELEMENTSOF(policy_convergence_action_table), &i);
                if (r < 0)
                        return r;
                p->convergence.action = i;
                if (i == POLICY_CONVERGENCE_POSTCOPY && !p->migration.allow_postcopy)
                        return parser_fail(ps, -EINVAL, ".convergence.action",
                                           "\"postcopy\" needs .migration.allow_postcopy set to true");
        }
        if (member(o, "downtime_step_ms", &v)) {
                r = parse_uint(ps, v, ".convergence.downtime_step_ms", 1, MAX_DOWNTIME_MS_MAX,
                               &p->convergence.downtime_step_ms);
                if (r < 0)
                        return r;
        }
        if (member(o, "downtime_ceiling_ms", &v)) {
                r = parse_uint(ps, v, ".convergence.downtime_ceiling_ms", 1, MAX_DOWNTIME_MS_MAX,
                               &p->convergence.downtime_ceiling_ms);
                if (r < 0)
                        return r;
                ceiling_given = true;
        }

        /* The ceiling left out follows a max downtime set above it; one given must be above. */
        if (p->convergence.downtime_ceiling_ms < p->migration.max_downtime_ms) {
                if (ceiling_given)
                        return parser_fail(ps, -EINVAL, ".convergence.downtime_ceiling_ms",
                                           "%llu is below .migration.max_downtime_ms (%llu)",
                                           (unsigned long long) p->convergence.downtime_ceiling_ms,
                                           (unsigned long long) p->migration.max_downtime_ms);
                p->convergence.downtime_ceiling_ms = p->migration.max_downtime_ms;
        }
        return 0;
}

static int parse_on_failure(Parser *ps, Policy *p, json_object *root) {
        static const char *const keys[] = { "plug", "link", "failback", NULL };
        static const char *const rule_keys[] = { "retries", "backoff_s", NULL };
        json_object *o;
        int r;

        if (!member(root, "on_failure", &o))
                return 0;
        r = parse_object(ps, o, ".on_failure");
        if (r < 0)
                return r;
        r = check_keys(ps, o, ".on_failure", keys);
        if (r < 0)
                return r;

        for (size_t i = 0; i < _RETRY_MAX; i++) {
                char path[JSON_PATH_MAX], child[JSON_PATH_MAX];
                json_object *rule, *v;

                if (!member(o, retry_key[i], &rule))
                        continue;
                path_child(path, ".on_failure", retry_key[i]);
                r = parse_object(ps, rule, path);
                if (r < 0)
                        return r;
                r = check_keys(ps, rule, path, rule_keys);
                if (r < 0)
                        return r;

                if (member(rule, "retries", &v)) {
                        path_child(child, path, "retries");
                        r = parse_unsigned(ps, v, child, 0, RETRIES_MAX, &p->retry[i].retries);
                        if (r < 0)
                                return r;
                }
                if (member(rule, "backoff_s", &v)) {
                        path_child(child, path, "backoff_s");
                        r = parse_seconds(ps, v, child, true, BACKOFF_SEC_MAX, &p->retry[i].backoff);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* Every key and string of a policy is UTF-8: names, descriptions and patterns go onto D-Bus,
 * which refuses anything else, so one bad byte would break ListPolicies for everyone. The
 * error names the first such key or string by its path. */
static int check_utf8(Parser *ps, json_object *v, const char *path) {
        char child[JSON_PATH_MAX];
        int r;

        switch (json_object_get_type(v)) {
        case json_type_object: {
                json_object_object_foreach(v, key, value) {
                        path_child(child, path, key);
                        if (!utf8_is_valid(key))
                                return parser_fail(ps, -EINVAL, child, "the key is not valid UTF-8");
                        r = check_utf8(ps, value, child);
                        if (r < 0)
                                return r;
                }
                return 0;
        }
        case json_type_array:
                for (size_t i = 0; i < json_object_array_length(v); i++) {
                        path_index(child, path, i);
                        r = check_utf8(ps, json_object_array_get_idx(v, i), child);
                        if (r < 0)
                                return r;
                }
                return 0;
        case json_type_string: {
                const char *s = json_object_get_string(v);

                if (!utf8_is_valid(s))
                        return parser_fail(ps, -EINVAL, path, "expected text in UTF-8, got a string with a byte "
                                           "that is not (at offset %zu)", utf8_invalid_offset(s));
                return 0;
        }
        case json_type_null:
        case json_type_boolean:
        case json_type_double:
        case json_type_int:
                return 0;
        }
        return 0;
}

/* What is the host's rather than a domain's: in the default policy only. */
static int parse_host(Parser *ps, Policy *p, json_object *root) {
        static const char *const keys[] = { "max_migrations", NULL };
        json_object *o, *v;
        uint64_t n;
        int r;

        if (!member(root, "host", &o))
                return 0;
        if (!policy_is_default(p))
                return parser_fail(ps, -EINVAL, ".host", "only the default policy may set the host's settings");
        r = parse_object(ps, o, ".host");
        if (r < 0)
                return r;
        r = check_keys(ps, o, ".host", keys);
        if (r < 0)
                return r;
        if (member(o, "max_migrations", &v)) {
                r = parse_uint(ps, v, ".host.max_migrations", 1, POLICY_MAX_MIGRATIONS_MAX, &n);
                if (r < 0)
                        return r;
                p->max_migrations = (unsigned) n;
        }
        return 0;
}

static int parse_policy(Parser *ps, Policy *p, json_object *root) {
        static const char *const keys[] = {
                "description", "match", "guest", "plug", "budgets_s", "migration", "convergence",
                "on_failure", "host", NULL,
        };
        json_object *v;
        int r;

        if (!json_object_is_type(root, json_type_object)) {
                char got[VALUE_QUOTE_MAX + 8];

                describe_value(root, got, sizeof got);
                return parser_fail(ps, -EINVAL, NULL, "expected a JSON object at the top level, got %s", got);
        }
        r = check_utf8(ps, root, "");
        if (r < 0)
                return r;
        r = check_keys(ps, root, "", keys);
        if (r < 0)
                return r;

        if (member(root, "description", &v)) {
                r = parse_string(ps, v, ".description", is_description, "a string", &p->description);
                if (r < 0)
                        return r;
        }
        r = parse_match(ps, p, root);
        if (r < 0)
                return r;
        r = parse_guest(ps, p, root);
        if (r < 0)
                return r;
        r = parse_plug(ps, p, root);
        if (r < 0)
                return r;
        r = parse_budgets(ps, p, root);
        if (r < 0)
                return r;
        r = parse_migration(ps, p, root);
        if (r < 0)
                return r;
        r = parse_convergence(ps, p, root);
        if (r < 0)
                return r;
        r = parse_host(ps, p, root);
        if (r < 0)
                return r;
        return parse_on_failure(ps, p, root);
}

static unsigned line_of(const char *text, size_t offset) {
        unsigned line = 1;

        for (size_t i = 0; i < offset && text[i]; i++)
                if (text[i] == '\n')
                        line++;
        return line;
}

static inline void json_tokener_freep(json_tokener **t) {
        if (*t)
                json_tokener_free(*t);
}

/* Strict JSON: what jq and every other tool reads the same way. */
static int parse_json(Parser *ps, const char *text, size_t size, json_object **ret) {
        _cleanup_(json_tokener_freep) json_tokener *tok = NULL;
        _cleanup_(json_object_putp) json_object *o = NULL;
        enum json_tokener_error e;
        size_t end;

        tok = json_tokener_new();
        if (!tok)
                return -ENOMEM;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
        /* The terminating NUL is passed too, so that a number at the very end is complete. */
        o = json_tokener_parse_ex(tok, text, (int) size + 1);
        e = json_tokener_get_error(tok);
        end = json_tokener_get_parse_end(tok);
        if (!o) {
                if (e == json_tokener_continue || e == json_tokener_success)
                        return parser_fail_at_line(ps, -EBADMSG, line_of(text, size),
                                                   "invalid JSON: unexpected end of data");
                return parser_fail_at_line(ps, -EBADMSG, line_of(text, end), "invalid JSON: %s",
                                           json_tokener_error_desc(e));
        }
        while (end < size && isspace((unsigned char) text[end]))
                end++;
        if (end < size)
                return parser_fail_at_line(ps, -EBADMSG, line_of(text, end),
                                           "invalid JSON: text after the end of the top-level value");
        *ret = TAKE_PTR(o);
        return 0;
}

static int read_file(Parser *ps, const char *path, char **ret, size_t *ret_size) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        size_t n = 0;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return parser_fail(ps, -errno, NULL, "cannot open: %s", strerror(errno));
        if (fstat(fd, &st) < 0)
                return parser_fail(ps, -errno, NULL, "cannot read: %s", strerror(errno));
        if (S_ISDIR(st.st_mode))
                return parser_fail(ps, -EISDIR, NULL, "is a directory, not a policy file");
        if (!S_ISREG(st.st_mode))
                return parser_fail(ps, -EBADFD, NULL, "is not a regular file");
        if (st.st_size > POLICY_FILE_SIZE_MAX)
                return parser_fail(ps, -EFBIG, NULL, "is larger than a policy can be (%d bytes at most)",
                                   POLICY_FILE_SIZE_MAX);

        buf = malloc(POLICY_FILE_SIZE_MAX + 2);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t k = read(fd, buf + n, POLICY_FILE_SIZE_MAX + 1 - n);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return parser_fail(ps, -errno, NULL, "cannot read: %s", strerror(errno));
                if (k == 0)
                        break;
                n += (size_t) k;
                if (n > POLICY_FILE_SIZE_MAX)
                        return parser_fail(ps, -EFBIG, NULL, "is larger than a policy can be (%d bytes at most)",
                                           POLICY_FILE_SIZE_MAX);
        }
        buf[n] = 0;
        if (strlen(buf) != n)
                return parser_fail_at_line(ps, -EBADMSG, line_of(buf, strlen(buf)), "invalid JSON: a NUL byte");
        *ret = TAKE_PTR(buf);
        *ret_size = n;
        return 0;
}

/* "web.json" -> "web"; NULL if the name is not one a policy file may have. */
static char *policy_name_from_file(const char *filename) {
        size_t n = strlen(filename);
        char *name;

        if (n <= 5 || strcmp(filename + n - 5, ".json") != 0 || filename[0] == '.')
                return NULL;
        name = strndup(filename, n - 5);
        if (!name)
                return NULL;
        if (!string_has_only(name, IDENTIFIER_MAX, "-_.@")) {
                free(name);
                return NULL;
        }
        return name;
}

static int parse_file_named(const char *path, const char *name, Policy **ret, char **ret_error) {
        _cleanup_(json_object_putp) json_object *root = NULL;
        _cleanup_(policy_freep) Policy *p = NULL;
        _cleanup_free_ char *text = NULL;
        Parser ps = { .file = path };
        size_t size = 0;
        int r;

        r = read_file(&ps, path, &text, &size);
        if (r >= 0)
                r = parse_json(&ps, text, size, &root);
        if (r >= 0)
                r = policy_alloc(name, path, &p);
        if (r >= 0)
                r = parse_policy(&ps, p, root);
        if (r < 0) {
                if (ret_error)
                        *ret_error = TAKE_PTR(ps.error);
                free(ps.error);
                return r;
        }
        *ret = TAKE_PTR(p);
        return 0;
}

static int fail_with(int error, char **ret_error, const char *fmt, ...) _printf_(3, 4);
static int fail_with(int error, char **ret_error, const char *fmt, ...) {
        va_list ap;

        if (!ret_error)
                return error;
        va_start(ap, fmt);
        if (vasprintf(ret_error, fmt, ap) < 0)
                *ret_error = NULL;
        va_end(ap);
        return error;
}

int policy_parse_file(const char *path, Policy **ret, char **ret_error) {
        _cleanup_free_ char *name = NULL;
        const char *base;

        if (!path || !ret)
                return -EINVAL;
        base = strrchr(path, '/');
        base = base ? base + 1 : path;
        name = policy_name_from_file(base);
        if (!name)
                return fail_with(-EINVAL, ret_error,
                                 "%s: a policy file's name is letters, digits, '-', '_', '.' or '@' and ends in .json",
                                 path);
        return parse_file_named(path, name, ret, ret_error);
}

/* ---- the effective policy as JSON ---- */

static int add(json_object *o, const char *key, json_object *v) {
        if (!v)
                return -ENOMEM;
        if (json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

static json_object *seconds_to_json(usec_t u) {
        if (u % USEC_PER_SEC == 0)
                return json_object_new_int64((int64_t) (u / USEC_PER_SEC));
        return json_object_new_double((double) u / (double) USEC_PER_SEC);
}

static json_object *string_or_null(const char *s) {
        return s ? json_object_new_string(s) : NULL;
}

static int append(json_object *a, json_object *v) {
        if (!v)
                return -ENOMEM;
        if (json_object_array_add(a, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

static int match_to_json(const Policy *p, json_object **ret) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        json_object *names, *uuids, *metadata;

        o = json_object_new_object();
        if (!o)
                return -ENOMEM;
        names = json_object_new_array();
        if (add(o, "names", names) < 0)
                return -ENOMEM;
        uuids = json_object_new_array();
        if (add(o, "uuids", uuids) < 0)
                return -ENOMEM;
        metadata = json_object_new_array();
        if (add(o, "metadata", metadata) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < p->n_names; i++)
                if (append(names, json_object_new_string(p->names[i].pattern)) < 0)
                        return -ENOMEM;
        for (size_t i = 0; i < p->n_uuids; i++)
                if (append(uuids, json_object_new_string(p->uuids[i])) < 0)
                        return -ENOMEM;
        for (size_t i = 0; i < p->n_metadata; i++) {
                const MetadataRule *m = &p->metadata[i];
                json_object *e = json_object_new_object();

                if (append(metadata, e) < 0 ||
                    add(e, "namespace", json_object_new_string(m->namespace_uri)) < 0 ||
                    add(e, "element", json_object_new_string(m->element)) < 0 ||
                    (m->value && add(e, "value", json_object_new_string(m->value)) < 0))
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(o);
        return 0;
}

int policy_to_json(const Policy *p, json_object **ret) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        json_object *guest, *plug, *budgets, *migration, *convergence, *on_failure, *match;
        int r;

        if (!p || !ret)
                return -EINVAL;

        o = json_object_new_object();
        if (!o)
                return -ENOMEM;
        if (p->description && add(o, "description", json_object_new_string(p->description)) < 0)
                return -ENOMEM;
        if (!policy_is_default(p)) {
                r = match_to_json(p, &match);
                if (r < 0)
                        return r;
                if (add(o, "match", match) < 0)
                        return -ENOMEM;
        }

        guest = json_object_new_object();
        if (add(o, "guest", guest) < 0 ||
            add(guest, "bond", json_object_new_string(p->bond)) < 0 ||
            add(guest, "vf", json_object_new_string(p->vf ? p->vf : "auto")) < 0 ||
            add(guest, "agent_timeout_s", seconds_to_json(p->agent_timeout)) < 0)
                return -ENOMEM;

        plug = json_object_new_object();
        if (add(o, "plug", plug) < 0 ||
            add(plug, "source", json_object_new_string(policy_plug_source_to_string(p->plug_source))) < 0 ||
            (p->plug_network && add(plug, "network", string_or_null(p->plug_network)) < 0) ||
            (p->plug_model && add(plug, "model", string_or_null(p->plug_model)) < 0) ||
            (p->plug_template && add(plug, "template", string_or_null(p->plug_template)) < 0))
                return -ENOMEM;

        budgets = json_object_new_object();
        if (add(o, "budgets_s", budgets) < 0)
                return -ENOMEM;
        for (Phase i = 0; i < _PHASE_MAX; i++)
                if (add(budgets, phase_to_string(i), seconds_to_json(p->budget[i])) < 0)
                        return -ENOMEM;

        migration = json_object_new_object();
        if (add(o, "migration", migration) < 0 ||
            add(migration, "path", json_object_new_string(policy_migration_path_to_string(p->migration.path))) < 0 ||
            add(migration, "max_downtime_ms", json_object_new_int64((int64_t) p->migration.max_downtime_ms)) < 0 ||
            add(migration, "bandwidth_mib_s", json_object_new_int64((int64_t) p->migration.bandwidth_mib_s)) < 0 ||
            add(migration, "auto_converge", json_object_new_boolean(p->migration.auto_converge)) < 0 ||
            add(migration, "allow_postcopy", json_object_new_boolean(p->migration.allow_postcopy)) < 0 ||
            add(migration, "parallel_connections", json_object_new_int64(p->migration.parallel_connections)) < 0 ||
            add(migration, "compression",
                json_object_new_string(policy_compression_to_string(p->migration.compression))) < 0)
                return -ENOMEM;

        convergence = json_object_new_object();
        if (add(o, "convergence", convergence) < 0 ||
            add(convergence, "after_iterations", json_object_new_int64(p->convergence.after_iterations)) < 0 ||
            add(convergence, "action",
                json_object_new_string(policy_convergence_action_to_string(p->convergence.action))) < 0 ||
            add(convergence, "downtime_step_ms", json_object_new_int64((int64_t) p->convergence.downtime_step_ms)) < 0 ||
            add(convergence, "downtime_ceiling_ms",
                json_object_new_int64((int64_t) p->convergence.downtime_ceiling_ms)) < 0)
                return -ENOMEM;

        if (p->max_migrations > 0) {
                json_object *host = json_object_new_object();

                if (add(o, "host", host) < 0 ||
                    add(host, "max_migrations", json_object_new_int64(p->max_migrations)) < 0)
                        return -ENOMEM;
        }

        on_failure = json_object_new_object();
        if (add(o, "on_failure", on_failure) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < _RETRY_MAX; i++) {
                json_object *rule = json_object_new_object();

                if (add(on_failure, retry_key[i], rule) < 0 ||
                    add(rule, "retries", json_object_new_int64(p->retry[i].retries)) < 0 ||
                    add(rule, "backoff_s", seconds_to_json(p->retry[i].backoff)) < 0)
                        return -ENOMEM;
        }

        *ret = TAKE_PTR(o);
        return 0;
}

/* ---- the VF to plug ---- */

int policy_make_plug_xml(const Policy *p, const char *recorded_xml, const char *mac,
                         const char *alias, char **ret) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        FILE *f;

        if (!p || !ret)
                return -EINVAL;
        if (mac && !is_mac(mac))
                return -EINVAL;
        if (alias && !is_alias(alias))
                return -EINVAL;

        switch (p->plug_source) {
        case POLICY_PLUG_RECORDED:
                if (!recorded_xml)
                        return -ENODATA;
                buf = strdup(recorded_xml);
                if (!buf)
                        return -ENOMEM;
                break;

        case POLICY_PLUG_NETWORK:
                if (!mac)
                        return -ENODATA;
                f = open_memstream(&buf, &size);
                if (!f)
                        return -ENOMEM;
                fprintf(f, "<interface type='network'>\n"
                           "  <mac address='%s'/>\n"
                           "  <source network='%s'/>\n", mac, p->plug_network);
                if (p->plug_model)
                        fprintf(f, "  <model type='%s'/>\n", p->plug_model);
                if (alias)
                        fprintf(f, "  <alias name='%s'/>\n", alias);
                fputs("</interface>\n", f);
                if (fclose(f) != 0)
                        return -ENOMEM;
                break;

        case POLICY_PLUG_TEMPLATE:
                if ((strstr(p->plug_template, "{mac}") && !mac) ||
                    (strstr(p->plug_template, "{alias}") && !alias))
                        return -ENODATA;
                f = open_memstream(&buf, &size);
                if (!f)
                        return -ENOMEM;
                for (const char *c = p->plug_template; *c; c++) {
                        if (strncmp(c, "{mac}", 5) == 0) {
                                fputs(mac, f);
                                c += 4;
                        } else if (strncmp(c, "{alias}", 7) == 0) {
                                fputs(alias, f);
                                c += 6;
                        } else
                                fputc(*c, f);
                }
                if (fclose(f) != 0)
                        return -ENOMEM;
                break;

        case _POLICY_PLUG_SOURCE_MAX:
        case _POLICY_PLUG_SOURCE_INVALID:
                return -EINVAL;
        }

        *ret = TAKE_PTR(buf);
        return 0;
}

/* ---- the set ---- */

typedef struct FileEntry {
        char *name; /* owned */
        char *path; /* owned */
} FileEntry;

static int file_entry_compare(const void *a, const void *b) {
        return strcmp(((const FileEntry *) a)->name, ((const FileEntry *) b)->name);
}

static inline void closedirp(DIR **d) {
        if (*d)
                closedir(*d);
}

static void file_entries_free(FileEntry *e, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(e[i].name);
                free(e[i].path);
        }
        free(e);
}

/* Every policy file of dirs, a name in an earlier directory hiding the same in a later one. */
static int list_files(const char *const *dirs, FileEntry **ret, size_t *ret_n, char **ret_error) {
        FileEntry *e = NULL;
        size_t n = 0;
        int r = 0;

        for (const char *const *d = dirs; *d && r >= 0; d++) {
                _cleanup_(closedirp) DIR *dir = opendir(*d);
                struct dirent *de;

                if (!dir) {
                        if (errno == ENOENT)
                                continue;
                        r = fail_with(-errno, ret_error, "%s: cannot read the policy directory: %s", *d,
                                      strerror(errno));
                        break;
                }
                while (r >= 0 && (errno = 0, de = readdir(dir))) {
                        _cleanup_free_ char *name = NULL;
                        bool hidden = false;
                        FileEntry *grown;
                        size_t l = strlen(de->d_name);

                        if (de->d_name[0] == '.' || l <= 5 || !streq(de->d_name + l - 5, ".json"))
                                continue;
                        name = policy_name_from_file(de->d_name);
                        if (!name) {
                                r = fail_with(-EINVAL, ret_error,
                                              "%s/%s: a policy file's name is letters, digits, '-', '_', '.' or '@' and ends in .json",
                                              *d, de->d_name);
                                break;
                        }
                        for (size_t i = 0; i < n; i++)
                                if (streq(e[i].name, name))
                                        hidden = true;
                        if (hidden)
                                continue;

                        grown = realloc(e, (n + 1) * sizeof *e);
                        if (!grown) {
                                r = -ENOMEM;
                                break;
                        }
                        e = grown;
                        e[n] = (FileEntry) { .name = TAKE_PTR(name) };
                        n++;
                        if (asprintf(&e[n - 1].path, "%s/%s", *d, de->d_name) < 0) {
                                e[n - 1].path = NULL;
                                r = -ENOMEM;
                        }
                }
                if (r >= 0 && errno != 0)
                        r = fail_with(-errno, ret_error, "%s: cannot read the policy directory: %s", *d,
                                      strerror(errno));
        }
        if (r < 0) {
                file_entries_free(e, n);
                return r;
        }
        if (n > 0)
                qsort(e, n, sizeof *e, file_entry_compare);
        *ret = e;
        *ret_n = n;
        return 0;
}

PolicySet *policy_set_free(PolicySet *s) {
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->n; i++)
                policy_free(s->policies[i]);
        free(s->policies);
        free(s);
        return NULL;
}

int policy_set_load(const char *const *dirs, PolicySet **ret, char **ret_error) {
        _cleanup_(policy_set_freep) PolicySet *s = NULL;
        FileEntry *files = NULL;
        size_t n_files = 0;
        bool have_default = false;
        int r;

        if (!dirs || !ret)
                return -EINVAL;

        r = list_files(dirs, &files, &n_files, ret_error);
        if (r < 0)
                return r;

        s = calloc(1, sizeof *s);
        if (s)
                s->policies = calloc(n_files + 1, sizeof *s->policies);
        if (!s || !s->policies) {
                file_entries_free(files, n_files);
                return -ENOMEM;
        }

        for (size_t i = 0; i < n_files; i++) {
                r = parse_file_named(files[i].path, files[i].name, &s->policies[s->n], ret_error);
                if (r < 0) {
                        file_entries_free(files, n_files);
                        return r;
                }
                if (policy_is_default(s->policies[s->n])) {
                        s->default_policy = s->policies[s->n];
                        have_default = true;
                }
                s->n++;
        }
        file_entries_free(files, n_files);

        if (!have_default) {
                size_t at = 0;

                /* Keep the name order: the built-in default goes where default.json would. */
                while (at < s->n && strcmp(s->policies[at]->name, POLICY_DEFAULT_NAME) < 0)
                        at++;
                memmove(s->policies + at + 1, s->policies + at, (s->n - at) * sizeof *s->policies);
                s->policies[at] = NULL;
                s->n++;
                r = policy_new_default(&s->policies[at]);
                if (r < 0)
                        return r;
                s->default_policy = s->policies[at];
        }

        *ret = TAKE_PTR(s);
        return 0;
}

size_t policy_set_size(const PolicySet *s) {
        return s ? s->n : 0;
}

const Policy *policy_set_get(const PolicySet *s, size_t i) {
        if (!s || i >= s->n)
                return NULL;
        return s->policies[i];
}

const Policy *policy_set_get_by_name(const PolicySet *s, const char *name) {
        if (!s || !name)
                return NULL;
        for (size_t i = 0; i < s->n; i++)
                if (streq(s->policies[i]->name, name))
                        return s->policies[i];
        return NULL;
}

/* How specifically p matches d: the kind, then a score that breaks ties within a kind.
 * False if it does not match. */
static bool policy_match(const Policy *p, const PolicyDomainInfo *d, PolicyMatchKind *ret_kind,
                         size_t *ret_score) {
        PolicyMatchKind kind = POLICY_MATCH_DEFAULT;
        size_t score = 0;
        bool found = false;

        if (d->uuid)
                for (size_t i = 0; i < p->n_uuids; i++)
                        if (strcasecmp(p->uuids[i], d->uuid) == 0) {
                                *ret_kind = POLICY_MATCH_UUID;
                                *ret_score = 0;
                                return true;
                        }

        for (size_t i = 0; i < p->n_metadata; i++) {
                const MetadataRule *m = &p->metadata[i];

                for (size_t j = 0; j < d->n_metadata; j++) {
                        const PolicyMetadata *dm = &d->metadata[j];

                        if (!streq_ptr(m->namespace_uri, dm->namespace_uri) || !streq_ptr(m->element, dm->element))
                                continue;
                        if (m->value && !streq(m->value, dm->value ? dm->value : ""))
                                continue;
                        if (!found || (m->value ? 1 : 0) > score) {
                                kind = POLICY_MATCH_METADATA;
                                score = m->value ? 1 : 0;
                                found = true;
                        }
                }
        }
        if (found) {
                *ret_kind = kind;
                *ret_score = score;
                return true;
        }

        if (d->name) {
                for (size_t i = 0; i < p->n_names; i++)
                        if (!p->names[i].glob && streq(p->names[i].pattern, d->name)) {
                                *ret_kind = POLICY_MATCH_NAME;
                                *ret_score = 0;
                                return true;
                        }
                for (size_t i = 0; i < p->n_names; i++)
                        if (p->names[i].glob && fnmatch(p->names[i].pattern, d->name, 0) == 0 &&
                            (!found || p->names[i].literal_prefix > score)) {
                                kind = POLICY_MATCH_GLOB;
                                score = p->names[i].literal_prefix;
                                found = true;
                        }
        }
        if (!found)
                return false;
        *ret_kind = kind;
        *ret_score = score;
        return true;
}

const Policy *policy_set_resolve(const PolicySet *s, const PolicyDomainInfo *d,
                                 PolicyMatchKind *ret_kind) {
        const Policy *best = NULL;
        PolicyMatchKind best_kind = POLICY_MATCH_DEFAULT;
        size_t best_score = 0;

        if (!s)
                return NULL;
        if (d)
                for (size_t i = 0; i < s->n; i++) {
                        PolicyMatchKind kind;
                        size_t score;

                        if (s->policies[i] == s->default_policy ||
                            !policy_match(s->policies[i], d, &kind, &score))
                                continue;
                        /* Strictly better only: on a tie the policy earlier in name order stays. */
                        if (!best || kind > best_kind || (kind == best_kind && score > best_score)) {
                                best = s->policies[i];
                                best_kind = kind;
                                best_score = score;
                        }
                }
        if (!best) {
                best = s->default_policy;
                best_kind = POLICY_MATCH_DEFAULT;
        }
        if (ret_kind)
                *ret_kind = best_kind;
        return best;
}

unsigned policy_set_get_max_migrations(const PolicySet *s) {
        return s && s->default_policy ? s->default_policy->max_migrations : 0;
}
