/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* srvm-guest's answers, read for the job's events. The replay report is
 *   "replay": {"record", "from", "to", "applied": ["mtu 1400", ...],
 *              "failed": [{"setting", "error"}]}
 * or "replay": {"record", "error"} when there was nothing to replay. */

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest-reply.h"
#include "json-util.h"
#include "macro.h"

static const char *get_string(json_object *o, const char *key) {
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

static size_t array_length(json_object *o, const char *key, json_object **ret) {
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_array)) {
                *ret = NULL;
                return 0;
        }
        *ret = v;
        return json_object_array_length(v);
}

json_object *guest_reply_replay(json_object *answer) {
        json_object *replay;

        if (!answer || !json_object_object_get_ex(answer, "replay", &replay) ||
            !json_object_is_type(replay, json_type_object))
                return NULL;
        return replay;
}

/* A guest's lists can be as long as the agent's reply allows (100k entries and more): srvmd
 * reads the first GUEST_LIST_MAX of each, in one pass, and counts the rest. */
#define GUEST_LIST_MAX 256

/* The entry's key: the string itself, or an object's "setting". */
static const char *entry_key(json_object *list, size_t i, bool settings) {
        json_object *e = json_object_array_get_idx(list, i);

        return settings ? get_string(e, "setting") : json_object_is_type(e, json_type_string) ? json_object_get_string(e) : NULL;
}

/* The keys of the first GUEST_LIST_MAX entries of list, as a json-c object used as a hash set,
 * so that each look-up is constant time, not a walk of the list. NULL for no list. */
static int key_set(json_object *list, bool settings, json_object **ret) {
        size_t n = list ? json_object_array_length(list) : 0;
        json_object *set;

        *ret = NULL;
        if (n == 0)
                return 0;
        set = json_object_new_object();
        if (!set)
                return -ENOMEM;
        for (size_t i = 0; i < n && i < GUEST_LIST_MAX; i++) {
                const char *k = entry_key(list, i, settings);

                if (k && json_object_object_add(set, k, NULL) < 0) {
                        json_object_put(set);
                        return -ENOMEM;
                }
        }
        *ret = set;
        return 0;
}

static bool set_has(json_object *set, const char *s) {
        return set && s && json_object_object_get_ex(set, s, NULL);
}

int guest_reply_replay_note(json_object *answer, json_object *said, char **ret) {
        _cleanup_(json_object_putp) json_object *said_applied = NULL, *said_failed = NULL;
        json_object *replay, *applied, *failed, *list;
        _cleanup_free_ char *s = NULL;
        size_t n_applied, n_failed, size = 0, new_applied = 0, new_failed = 0, unread;
        const char *error;
        FILE *f;
        int r;

        *ret = NULL;
        replay = guest_reply_replay(answer);
        if (!replay)
                return 0;

        error = get_string(replay, "error");
        if (error) {
                if (streq_ptr(error, get_string(said, "error")))
                        return 0;
                return asprintf(ret, "guest: VF configuration not replayed: %s", error) < 0 ? -ENOMEM : 0;
        }

        n_applied = array_length(replay, "applied", &applied);
        n_failed = array_length(replay, "failed", &failed);
        unread = (n_applied > GUEST_LIST_MAX ? n_applied - GUEST_LIST_MAX : 0) +
                 (n_failed > GUEST_LIST_MAX ? n_failed - GUEST_LIST_MAX : 0);
        n_applied = n_applied > GUEST_LIST_MAX ? GUEST_LIST_MAX : n_applied;
        n_failed = n_failed > GUEST_LIST_MAX ? GUEST_LIST_MAX : n_failed;
        (void) array_length(said, "applied", &list);
        r = key_set(list, false, &said_applied);
        if (r < 0)
                return r;
        (void) array_length(said, "failed", &list);
        r = key_set(list, true, &said_failed);
        if (r < 0)
                return r;

        for (size_t i = 0; i < n_applied; i++)
                if (!set_has(said_applied, entry_key(applied, i, false)))
                        new_applied++;
        for (size_t i = 0; i < n_failed; i++)
                if (!set_has(said_failed, entry_key(failed, i, true)))
                        new_failed++;
        if (new_applied == 0 && new_failed == 0 && unread == 0)
                return 0;

        f = open_memstream(&s, &size);
        if (!f)
                return -ENOMEM;
        fprintf(f, "guest: VF configuration of %s replayed on %s: ", strna(get_string(replay, "from")),
                strna(get_string(replay, "to")));
        if (new_applied == 0)
                fputs(said ? "nothing more to change" : "nothing to change", f);
        for (size_t i = 0, k = 0; i < n_applied; i++) {
                const char *a = entry_key(applied, i, false);

                if (set_has(said_applied, a))
                        continue;
                fprintf(f, "%s%s", k++ > 0 ? ", " : "", strna(a));
        }
        if (new_failed > 0)
                fputs("; not applied: ", f);
        for (size_t i = 0, k = 0; i < n_failed; i++) {
                json_object *e = json_object_array_get_idx(failed, i);
                const char *why = get_string(e, "error");

                if (set_has(said_failed, get_string(e, "setting")))
                        continue;
                fprintf(f, "%s%s%s%s%s", k++ > 0 ? ", " : "", strna(get_string(e, "setting")),
                        why ? " (" : "", why ? why : "", why ? ")" : "");
        }
        if (unread > 0)
                fprintf(f, "; %zu more settings not read (srvmd reads %d of each list)", unread, GUEST_LIST_MAX);
        if (fclose(f) != 0)
                return -ENOMEM;

        *ret = TAKE_PTR(s);
        return 0;
}

int guest_reply_parse_version(const char *out, char **ret_version, unsigned *ret_protocol) {
        static const char prefix[] = "srvm-guest ";
        const char *line, *end;
        unsigned protocol = 1;
        char *version;

        if (!out || strncmp(out, prefix, strlen(prefix)) != 0)
                return -EBADMSG;
        line = out + strlen(prefix);
        end = strchrnul(line, '\n');
        if (end == line)
                return -EBADMSG;

        for (const char *l = *end ? end + 1 : end; *l; ) {
                const char *e = strchrnul(l, '\n');

                if (strncmp(l, "protocol ", 9) == 0) {
                        unsigned long n;
                        char *p;

                        errno = 0;
                        n = strtoul(l + 9, &p, 10);
                        if (errno != 0 || p == l + 9 || p != e || n == 0 || n > UINT_MAX)
                                return -EBADMSG;
                        protocol = n;
                }
                l = *e ? e + 1 : e;
        }

        version = strndup(line, end - line);
        if (!version)
                return -ENOMEM;
        *ret_version = version;
        *ret_protocol = protocol;
        return 0;
}
