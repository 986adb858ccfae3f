/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for srvmd's reading of srvm-guest's answers (srvmd/guest-reply.c): the replay
 * report as one sentence for the job's events. */

#include "assert.h"
#include "guest-reply.h"
#include "macro.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);

static void test_replay_note(void) {
        static const struct {
                const char *answer;
                const char *note;
        } cases[] = {
                { "{\"ok\":true}", NULL },
                { "{\"ok\":true,\"replay\":[]}", NULL },
                { "{\"replay\":{\"record\":\"/run/srvm/bond0.vf.json\",\"applied\":[],\"failed\":[]}}", NULL },
                { "{\"replay\":{\"record\":\"/run/srvm/bond0.vf.json\",\"error\":\"no record\"}}",
                  "guest: VF configuration not replayed: no record" },
                /* A failback run again after the one that replayed the record (srvmd finishing a
                 * job after a restart): nothing to say. */
                { "{\"replay\":{\"record\":\"/run/srvm/bond0.vf.json\","
                  "\"replayed_before\":\"/run/srvm/bond0.vf.json.replayed\"}}", NULL },
                { "{\"replay\":{\"from\":\"eth1 (e1000e)\",\"to\":\"eth2 (e1000)\","
                  "\"applied\":[\"mtu 1400\",\"rx-checksum off\"],\"failed\":[]}}",
                  "guest: VF configuration of eth1 (e1000e) replayed on eth2 (e1000): mtu 1400, "
                  "rx-checksum off" },
                { "{\"replay\":{\"from\":\"eth1 (e1000e)\",\"to\":\"eth2 (e1000)\",\"applied\":[\"mtu 1400\"],"
                  "\"failed\":[{\"setting\":\"rx-hashing on\",\"error\":\"not supported by the driver\"},"
                  "{\"setting\":\"ring rx 4096\"}]}}",
                  "guest: VF configuration of eth1 (e1000e) replayed on eth2 (e1000): mtu 1400; not "
                  "applied: rx-hashing on (not supported by the driver), ring rx 4096" },
                { "{\"replay\":{\"failed\":[{\"setting\":\"mtu 9000\",\"error\":\"Invalid argument\"}]}}",
                  "guest: VF configuration of n/a replayed on n/a: nothing to change; not applied: "
                  "mtu 9000 (Invalid argument)" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(json_object_putp) json_object *o = json_tokener_parse(cases[i].answer);
                _cleanup_free_ char *note = (char *) 0x1;

                ASSERT_NOT_NULL(o);
                ASSERT_OK(guest_reply_replay_note(o, NULL, &note));
                if (cases[i].note)
                        ASSERT_STREQ(note, cases[i].note);
                else
                        ASSERT_NULL(note);
        }

        char *note = (char *) 0x1;
        ASSERT_OK(guest_reply_replay_note(NULL, NULL, &note));
        ASSERT_NULL(note);
}

/* failback reports the replay enslave reported, plus what it did after the switch: the
 * second note says only what is new. */
static void test_replay_note_said(void) {
        static const struct {
                const char *said, *answer, *note;
        } cases[] = {
                { "{\"applied\":[\"mtu 1400\"],\"failed\":[{\"setting\":\"ring rx 4096\"}]}",
                  "{\"replay\":{\"from\":\"eth1\",\"to\":\"eth2\",\"applied\":[\"mtu 1400\"],"
                  "\"failed\":[{\"setting\":\"ring rx 4096\",\"error\":\"too big\"}]}}",
                  NULL },
                { "{\"applied\":[\"mtu 1400\"],\"failed\":[{\"setting\":\"ring rx 4096\"}]}",
                  "{\"replay\":{\"from\":\"eth1\",\"to\":\"eth2\",\"applied\":[\"mtu 1400\",\"rx-hashing on\"],"
                  "\"failed\":[{\"setting\":\"ring rx 4096\"}]}}",
                  "guest: VF configuration of eth1 replayed on eth2: rx-hashing on" },
                { "{\"applied\":[\"mtu 1400\"],\"failed\":[]}",
                  "{\"replay\":{\"from\":\"eth1\",\"to\":\"eth2\",\"applied\":[\"mtu 1400\"],"
                  "\"failed\":[{\"setting\":\"vlan 7\",\"error\":\"no such VLAN\"}]}}",
                  "guest: VF configuration of eth1 replayed on eth2: nothing more to change; not applied: "
                  "vlan 7 (no such VLAN)" },
                { "{\"record\":\"/run/srvm/bond0.vf.json\",\"error\":\"no record\"}",
                  "{\"replay\":{\"record\":\"/run/srvm/bond0.vf.json\",\"error\":\"no record\"}}",
                  NULL },
                /* something said before that is not a replay report hides nothing */
                { "[]",
                  "{\"replay\":{\"from\":\"eth1\",\"to\":\"eth2\",\"applied\":[\"mtu 1400\"]}}",
                  "guest: VF configuration of eth1 replayed on eth2: mtu 1400" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(json_object_putp) json_object *said = json_tokener_parse(cases[i].said);
                _cleanup_(json_object_putp) json_object *o = json_tokener_parse(cases[i].answer);
                _cleanup_free_ char *note = (char *) 0x1;

                ASSERT_NOT_NULL(said);
                ASSERT_NOT_NULL(o);
                ASSERT_OK(guest_reply_replay_note(o, said, &note));
                if (cases[i].note)
                        ASSERT_STREQ(note, cases[i].note);
                else
                        ASSERT_NULL(note);
        }
}

/* A guest's lists of 100k entries: read in one pass, the first 256 of each, the rest counted.
 * (Each entry looked up in the other list took 5.5 s of the loop for 40k entries.) */
static void test_replay_note_long_lists(void) {
        _cleanup_(json_object_putp) json_object *said = json_object_new_object();
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        _cleanup_free_ char *note = NULL;
        json_object *replay = json_object_new_object(), *applied = json_object_new_array(),
                    *said_applied = json_object_new_array(), *failed = json_object_new_array();
        char buf[32];

        ASSERT_NOT_NULL(said);
        ASSERT_NOT_NULL(o);
        for (int i = 0; i < 100000; i++) {
                snprintf(buf, sizeof buf, "mtu %d", i);
                ASSERT_OK(json_object_array_add(applied, json_object_new_string(buf)));
                snprintf(buf, sizeof buf, "mtu %d", i + 1);
                ASSERT_OK(json_object_array_add(said_applied, json_object_new_string(buf)));
                ASSERT_OK(json_object_array_add(failed, json_object_new_object()));
        }
        ASSERT_OK(json_object_object_add(said, "applied", said_applied));
        ASSERT_OK(json_object_object_add(replay, "from", json_object_new_string("eth1")));
        ASSERT_OK(json_object_object_add(replay, "to", json_object_new_string("eth2")));
        ASSERT_OK(json_object_object_add(replay, "applied", applied));
        ASSERT_OK(json_object_object_add(replay, "failed", failed));
        ASSERT_OK(json_object_object_add(o, "replay", replay));

        ASSERT_OK(guest_reply_replay_note(o, said, &note));
        ASSERT_NOT_NULL(note);
        /* "mtu 0" is new; 1..255 were said; the rest unread. */
        ASSERT_TRUE(strncmp(note, "guest: VF configuration of eth1 replayed on eth2: mtu 0; not applied: n/a, ", 74) == 0);
        ASSERT_NOT_NULL(strstr(note, "; 199488 more settings not read (srvmd reads 256 of each list)"));
        ASSERT_TRUE(strlen(note) < 4096);
}

static void test_parse_version(void) {
        static const struct {
                const char *out;
                int r;
                const char *version;
                unsigned protocol;
        } cases[] = {
                { "srvm-guest 0.1.0\nprotocol 2\n", 0, "0.1.0", 2 },
                { "srvm-guest 0.1.0\nprotocol 17", 0, "0.1.0", 17 },
                /* Before protocol 2 srvm-guest printed its version only. */
                { "srvm-guest 0.1.0\n", 0, "0.1.0", 1 },
                { "srvm-guest 0.0.9", 0, "0.0.9", 1 },
                { "srvm-guest 0.2.0\nbuilt by someone\nprotocol 3\n", 0, "0.2.0", 3 },
                { "", -EBADMSG, NULL, 0 },
                { "srvm-guest \n", -EBADMSG, NULL, 0 },
                { "bash 5.2\n", -EBADMSG, NULL, 0 },
                { "srvm-guest 0.1.0\nprotocol two\n", -EBADMSG, NULL, 0 },
                { "srvm-guest 0.1.0\nprotocol 0\n", -EBADMSG, NULL, 0 },
                { "srvm-guest 0.1.0\nprotocol 2x\n", -EBADMSG, NULL, 0 },
                { "srvm-guest 0.1.0\nprotocol 99999999999\n", -EBADMSG, NULL, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *version = NULL;
                unsigned protocol = 0;

                ASSERT_EQ_INT(guest_reply_parse_version(cases[i].out, &version, &protocol), cases[i].r);
                if (cases[i].r < 0) {
                        ASSERT_NULL(version);
                        continue;
                }
                ASSERT_STREQ(version, cases[i].version);
                ASSERT_EQ_INT(protocol, cases[i].protocol);
        }
        char *version = NULL;
        unsigned protocol = 0;
        ASSERT_EQ_INT(guest_reply_parse_version(NULL, &version, &protocol), -EBADMSG);
}

int main(void) {
        test_replay_note();
        test_replay_note_said();
        test_replay_note_long_lists();
        test_parse_version();
        return 0;
}
