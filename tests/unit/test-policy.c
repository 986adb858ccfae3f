/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Policies: every shape of a valid file and its effective values, every kind of error and
 * its exact sentence, resolution precedence and ties, all-or-nothing set loading, the
 * directory override, and the policies shipped in the source tree (SRVM_POLICY_DIR). Files are
 * written to a scratch directory that the test removes. */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "assert.h"
#include "json-util.h"
#include "policy.h"

static char scratch[] = "/tmp/test-policy-XXXXXX";

static void write_file(const char *path, const char *text) {
        FILE *f = fopen(path, "we");

        ASSERT_NOT_NULL(f);
        ASSERT_TRUE(fputs(text, f) >= 0);
        ASSERT_EQ_INT(fclose(f), 0);
}

/* scratch/dir (created if need be), and scratch/dir/name with text in it if name is given. */
static void scratch_path(char *buf, size_t size, const char *dir, const char *name) {
        snprintf(buf, size, "%s/%s", scratch, dir);
        (void) mkdir(buf, 0700);
        if (name) {
                size_t l = strlen(buf);

                snprintf(buf + l, size - l, "/%s", name);
        }
}

static void remove_tree(const char *path) {
        DIR *d = opendir(path);
        struct dirent *de;

        if (!d) {
                ASSERT_EQ_INT(unlink(path), 0);
                return;
        }
        while ((de = readdir(d))) {
                char child[512];

                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                snprintf(child, sizeof child, "%s/%s", path, de->d_name);
                remove_tree(child);
        }
        closedir(d);
        ASSERT_EQ_INT(rmdir(path), 0);
}

/* The value at a path like ".migration.max_downtime_ms" of o, as JSON text; NULL if absent. */
static const char *json_at(json_object *o, const char *path) {
        char key[128];

        while (*path == '.') {
                size_t n = strcspn(path + 1, ".");

                snprintf(key, sizeof key, "%.*s", (int) n, path + 1);
                if (!json_object_object_get_ex(o, key, &o))
                        return NULL;
                path += n + 1;
        }
        return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

static Policy *parse_text(const char *name, const char *text, char *path, size_t size) {
        _cleanup_free_ char *error = NULL;
        Policy *p = NULL;
        int r;

        scratch_path(path, size, "single", name);
        write_file(path, text);
        r = policy_parse_file(path, &p, &error);
        if (r < 0)
                ASSERT_FAIL_("%s: %s", name, strna(error));
        ASSERT_NULL(error);
        return p;
}

/* ---- valid files ---- */

static const struct {
        const char *name;
        const char *text;
        const char *expect[8]; /* "path=json", in the effective policy */
} valid[] = {
        { "empty-default", "default.json", { NULL } },
        { "minimal", "{ \"match\": { \"names\": [\"vm1\"] } }",
          { ".guest.bond=\"bond0\"", ".guest.vf=\"auto\"", ".plug.source=\"recorded\"",
            ".budgets_s.migrate=300", ".convergence.downtime_ceiling_ms=2000", ".migration.path=\"auto\"",
            ".on_failure.link.retries=3", ".match.uuids=[]" } },
        { "guest", "{ \"match\": { \"names\": [\"vm1\"] },"
                   "  \"guest\": { \"bond\": \"bond-a.1\", \"vf\": \"52:54:00:AA:bb:01\", \"agent_timeout_s\": 2.5 } }",
          { ".guest.bond=\"bond-a.1\"", ".guest.vf=\"52:54:00:aa:bb:01\"", ".guest.agent_timeout_s=2.5" } },
        { "alias", "{ \"match\": { \"names\": [\"vm1\"] }, \"guest\": { \"vf\": \"ua-sriov0\" } }",
          { ".guest.vf=\"ua-sriov0\"" } },
        /* json-c keeps the last of a key given twice; srvm-policy(5) says so */
        { "duplicate", "{ \"match\": { \"names\": [\"vm1\"] }, \"guest\": { \"bond\": \"b1\", \"bond\": \"b2\" } }",
          { ".guest.bond=\"b2\"" } },
        { "network", "{ \"match\": { \"uuids\": [\"4B1B5D2E-8F0A-4C55-9D3E-2A7C1E6F9B10\"] },"
                     "  \"plug\": { \"source\": \"network\", \"network\": \"sriov-pool\", \"model\": \"e1000e\" } }",
          { ".plug.network=\"sriov-pool\"", ".plug.model=\"e1000e\"",
            ".match.uuids=[\"4b1b5d2e-8f0a-4c55-9d3e-2a7c1e6f9b10\"]", ".plug.template=(absent)" } },
        { "template", "{ \"match\": { \"names\": [\"db-*\"] },"
                      "  \"plug\": { \"source\": \"template\", \"template\": \"  <interface type='network'><mac address='{mac}'/></interface>\" } }",
          { ".plug.source=\"template\"", ".plug.network=(absent)" } },
        { "metadata", "{ \"match\": { \"metadata\": [ { \"namespace\": \"https://x.example/1\", \"element\": \"tier\" },"
                      "  { \"namespace\": \"https://x.example/1\", \"element\": \"tier\", \"value\": \"web\" } ] } }",
          { ".match.metadata=[{\"namespace\":\"https://x.example/1\",\"element\":\"tier\"},"
            "{\"namespace\":\"https://x.example/1\",\"element\":\"tier\",\"value\":\"web\"}]" } },
        { "budgets", "{ \"match\": { \"names\": [\"vm1\"] }, \"budgets_s\": { \"failover\": 0.25, \"rollback-plug\": 86400 } }",
          { ".budgets_s.failover=0.25", ".budgets_s.rollback-plug=86400", ".budgets_s.unplug=15" } },
        { "migration", "{ \"match\": { \"names\": [\"vm1\"] }, \"migration\": { \"max_downtime_ms\": 60000,"
                       "  \"bandwidth_mib_s\": 0, \"auto_converge\": true, \"allow_postcopy\": true },"
                       "  \"convergence\": { \"action\": \"postcopy\", \"after_iterations\": 1000 } }",
          { ".migration.max_downtime_ms=60000", ".migration.auto_converge=true",
            ".migration.parallel_connections=0", ".migration.compression=\"none\"",
            ".convergence.action=\"postcopy\"", ".convergence.after_iterations=1000",
            /* a ceiling left out follows a max downtime above it */
            ".convergence.downtime_ceiling_ms=60000" } },
        { "path-native", "{ \"match\": { \"names\": [\"vm1\"] }, \"migration\": { \"path\": \"native\" } }",
          { ".migration.path=\"native\"", ".migration.max_downtime_ms=20" } },
        { "path-failover", "{ \"match\": { \"names\": [\"vm1\"] }, \"migration\": { \"path\": \"failover\" } }",
          { ".migration.path=\"failover\"" } },
        { "multifd", "{ \"match\": { \"names\": [\"vm1\"] }, \"migration\": { \"parallel_connections\": 4 } }",
          { ".migration.parallel_connections=4", ".migration.compression=\"none\"" } },
        { "xbzrle", "{ \"match\": { \"names\": [\"vm1\"] }, \"migration\": { \"compression\": \"xbzrle\" } }",
          { ".migration.compression=\"xbzrle\"", ".migration.parallel_connections=0" } },
        { "on-failure", "{ \"match\": { \"names\": [\"vm1\"] }, \"on_failure\": { \"plug\": { \"retries\": 0 },"
                        "  \"failback\": { \"retries\": 10, \"backoff_s\": 0 } } }",
          { ".on_failure.plug.retries=0", ".on_failure.plug.backoff_s=2", ".on_failure.failback.backoff_s=0",
            ".on_failure.link.retries=3" } },
        { "description", "{ \"description\": \"caf\\u00e9 / \\\"quoted\\\"\", \"match\": { \"names\": [\"a\\\\*b\"] } }",
          { ".description=\"café / \\\"quoted\\\"\"", ".match.names=[\"a\\\\*b\"]" } },
};

static void test_valid(void) {
        for (size_t i = 0; i < ELEMENTSOF(valid); i++) {
                _cleanup_(policy_freep) Policy *p = NULL;
                _cleanup_(json_object_putp) json_object *o = NULL;
                char path[512], file[64];
                const char *text = valid[i].text;

                fprintf(stderr, "valid: %s\n", valid[i].name);
                if (streq(text, "default.json")) {
                        snprintf(file, sizeof file, "default.json");
                        text = "{}";
                } else
                        snprintf(file, sizeof file, "%s.json", valid[i].name);
                p = parse_text(file, text, path, sizeof path);
                ASSERT_STREQ(policy_get_path(p), path);
                ASSERT_OK(policy_to_json(p, &o));
                for (size_t k = 0; k < ELEMENTSOF(valid[i].expect) && valid[i].expect[k]; k++) {
                        const char *e = valid[i].expect[k], *eq = strchr(e, '=');
                        char at[128];

                        snprintf(at, sizeof at, "%.*s", (int) (eq - e), e);
                        if (streq(eq + 1, "(absent)"))
                                ASSERT_NULL(json_at(o, at));
                        else
                                ASSERT_STREQ(json_at(o, at), eq + 1);
                }
        }
}

static void test_accessors(void) {
        _cleanup_(policy_freep) Policy *p = NULL;
        MigrationParams params = { .domain = "vm1" };
        PolicyRetry retry;
        char path[512];

        p = parse_text("acc.json",
                       "{ \"match\": { \"names\": [\"vm1\"] },"
                       "  \"guest\": { \"bond\": \"bond7\", \"vf\": \"ua-vf0\", \"agent_timeout_s\": 3 },"
                       "  \"budgets_s\": { \"migrate\": 42 },"
                       "  \"on_failure\": { \"link\": { \"retries\": 4, \"backoff_s\": 1.5 } } }",
                       path, sizeof path);
        ASSERT_STREQ(policy_get_name(p), "acc");
        ASSERT_TRUE(!policy_is_default(p));
        ASSERT_NULL(policy_get_description(p));
        ASSERT_STREQ(policy_get_bond(p), "bond7");
        ASSERT_STREQ(policy_get_vf(p), "ua-vf0");
        ASSERT_EQ_INT(policy_get_agent_timeout(p), 3 * USEC_PER_SEC);
        ASSERT_EQ_INT(policy_get_phase_budget(p, PHASE_MIGRATE), 42 * USEC_PER_SEC);
        ASSERT_EQ_INT(policy_get_phase_budget(p, PHASE_PLUG), phase_default_budget(PHASE_PLUG));
        ASSERT_EQ_INT(policy_get_phase_budget(p, _PHASE_MAX), 0);
        ASSERT_EQ_INT(policy_get_plug_source(p), POLICY_PLUG_RECORDED);
        ASSERT_EQ_INT(policy_get_migration(p)->max_downtime_ms, 20);

        ASSERT_OK(policy_get_retry(p, PHASE_LINK, &retry));
        ASSERT_EQ_INT(retry.retries, 4);
        ASSERT_EQ_INT(retry.backoff, 1500 * USEC_PER_MSEC);
        ASSERT_OK(policy_get_retry(p, PHASE_ROLLBACK_LINK, &retry));
        ASSERT_EQ_INT(retry.retries, 4);
        retry = (PolicyRetry) { .retries = 99 };
        ASSERT_ERR(policy_get_retry(p, PHASE_MIGRATE, &retry), EINVAL);
        ASSERT_EQ_INT(retry.retries, 99); /* untouched */

        /* Backoff doubles, capped; attempt 0 has none. */
        retry = (PolicyRetry) { .retries = 3, .backoff = 2 * USEC_PER_SEC };
        ASSERT_EQ_INT(policy_retry_delay(&retry, 0), 0);
        ASSERT_EQ_INT(policy_retry_delay(&retry, 1), 2 * USEC_PER_SEC);
        ASSERT_EQ_INT(policy_retry_delay(&retry, 3), 8 * USEC_PER_SEC);
        ASSERT_EQ_INT(policy_retry_delay(&retry, 40), POLICY_RETRY_DELAY_MAX);

        policy_apply_to_params(p, &params);
        ASSERT_STREQ(params.bond, "bond7");
        ASSERT_STREQ(params.vf, "ua-vf0");
        ASSERT_EQ_INT(params.phase_budget[PHASE_MIGRATE], 42 * USEC_PER_SEC);
        ASSERT_EQ_INT(params.phase_budget[PHASE_FAILOVER], 15 * USEC_PER_SEC);
        ASSERT_STREQ(params.domain, "vm1");
}

/* ---- errors: the exact sentence; %s is the file's path ---- */

static const struct {
        const char *file;
        const char *text;
        int error;
        const char *sentence;
} invalid[] = {
        /* JSON itself */
        { "syntax.json", "{\n  \"match\": {\n    \"names\": [\"a\",]\n  }\n}\n", EBADMSG,
          "%s:3: invalid JSON: unexpected character" },
        { "truncated.json", "{\n  \"match\": {\n", EBADMSG, "%s:3: invalid JSON: unexpected end of data" },
        { "empty.json", "", EBADMSG, "%s:1: invalid JSON: unexpected end of data" },
        { "trailing.json", "{}\n{}\n", EBADMSG, "%s:2: invalid JSON: unexpected character" },
        { "comment.json", "{\n/* no */ }", EBADMSG, "%s:2: invalid JSON: quoted object property name expected" },
        { "array.json", "[1, 2]", EINVAL, "%s: expected a JSON object at the top level, got an array" },
        { "number.json", "5", EINVAL, "%s: expected a JSON object at the top level, got 5" },
        /* text that is not UTF-8, named by its path; the error itself is valid UTF-8 */
        { "latin1.json", "{ \"description\": \"caf\xe9\" }", EINVAL,
          "%s: .description: expected text in UTF-8, got a string with a byte that is not (at offset 3)" },
        { "deep-utf8.json", "{ \"match\": { \"names\": [\"a\", \"web-\xff*\"] } }", EINVAL,
          "%s: .match.names[1]: expected text in UTF-8, got a string with a byte that is not (at offset 4)" },
        { "key-utf8.json", "{ \"guest\": { \"bo\xc3nd\": \"bond0\" } }", EINVAL,
          "%s: .guest.bo\\xc3nd: the key is not valid UTF-8" },
        { "control.json", "{ \"match\": { \"names\": [\"a\"] }, \"guest\": { \"bond\\u001b\": 1 } }", EINVAL,
          "%s: .guest.bond\\x1b: unknown key (known here: bond, vf, agent_timeout_s)" },
        /* unknown keys, at every depth */
        { "top.json", "{ \"matches\": {} }", EINVAL,
          "%s: .matches: unknown key (known here: description, match, guest, plug, budgets_s, migration, "
          "convergence, on_failure, host)" },
        /* the host's settings: the default policy's alone, in range */
        { "host-elsewhere.json", "{ \"match\": { \"names\": [\"a\"] }, \"host\": { \"max_migrations\": 2 } }", EINVAL,
          "%s: .host: only the default policy may set the host's settings" },
        { "default.json", "{ \"host\": { \"max_migrations\": 0 } }", EINVAL,
          "%s: .host.max_migrations: expected an integer from 1 to 1024, got 0" },
        { "default.json", "{ \"host\": { \"max_parallel\": 2 } }", EINVAL,
          "%s: .host.max_parallel: unknown key (known here: max_migrations)" },
        { "deep.json", "{ \"match\": { \"names\": [\"a\"] }, \"on_failure\": { \"plug\": { \"retry\": 1 } } }", EINVAL,
          "%s: .on_failure.plug.retry: unknown key (known here: retries, backoff_s)" },
        { "meta-key.json", "{ \"match\": { \"metadata\": [ { \"namespace\": \"u\", \"element\": \"e\", \"val\": \"x\" } ] } }",
          EINVAL, "%s: .match.metadata[0].val: unknown key (known here: namespace, element, value)" },
        { "phase.json", "{ \"match\": { \"names\": [\"a\"] }, \"budgets_s\": { \"teleport\": 1 } }", EINVAL,
          "%s: .budgets_s.teleport: unknown key (known here: preflight, failover, unplug, migrate, plug, link, "
          "failback, rollback-plug, rollback-link, rollback-failback, recover, verify)" },
        /* wrong types */
        { "type-int.json", "{ \"match\": { \"names\": [\"a\"] }, \"migration\": { \"max_downtime_ms\": \"fast\" } }",
          EINVAL, "%s: .migration.max_downtime_ms: expected an integer from 1 to 60000, got \"fast\"" },
        { "type-double.json", "{ \"match\": { \"names\": [\"a\"] }, \"migration\": { \"bandwidth_mib_s\": 1.5 } }",
          EINVAL, "%s: .migration.bandwidth_mib_s: expected an integer from 0 to 1048576, got 1.5" },
        { "type-bool.json", "{ \"match\": { \"names\": [\"a\"] }, \"migration\": { \"auto_converge\": 1 } }",
          EINVAL, "%s: .migration.auto_converge: expected true or false, got 1" },
        { "type-object.json", "{ \"match\": { \"names\": [\"a\"] }, \"guest\": [] }",
          EINVAL, "%s: .guest: expected an object, got an array" },
        { "type-array.json", "{ \"match\": { \"names\": \"web-*\" } }",
          EINVAL, "%s: .match.names: expected an array of domain names or glob patterns, got \"web-*\"" },
        { "type-null.json", "{ \"match\": { \"names\": [\"a\"] }, \"guest\": { \"bond\": null } }",
          EINVAL, "%s: .guest.bond: expected an interface name of 1 to 15 letters, digits, '-', '_' or '.', got null" },
        { "type-seconds.json", "{ \"match\": { \"names\": [\"a\"] }, \"budgets_s\": { \"plug\": \"10s\" } }",
          EINVAL, "%s: .budgets_s.plug: expected a number of seconds above 0 and at most 86400, got \"10s\"" },
        /* out of range */
        { "range-high.json", "{ \"match\": { \"names\": [\"a\"] }, \"migration\": { \"max_downtime_ms\": 70000 } }",
          EINVAL, "%s: .migration.max_downtime_ms: expected an integer from 1 to 60000, got 70000" },
        { "range-zero.json", "{ \"match\": { \"names\": [\"a\"] }, \"budgets_s\": { \"failover\": 0 } }",
          EINVAL, "%s: .budgets_s.failover: expected a number of seconds above 0 and at most 86400, got 0" },
        { "range-negative.json", "{ \"match\": { \"names\": [\"a\"] }, \"on_failure\": { \"link\": { \"backoff_s\": -1 } } }",
          EINVAL, "%s: .on_failure.link.backoff_s: expected a number of seconds from 0 to 600, got -1" },
        { "range-retries.json", "{ \"match\": { \"names\": [\"a\"] }, \"on_failure\": { \"failback\": { \"retries\": 11 } } }",
          EINVAL, "%s: .on_failure.failback.retries: expected an integer from 0 to 10, got 11" },
        { "range-huge.json", "{ \"match\": { \"names\": [\"a\"] }, \"convergence\": { \"after_iterations\": 18446744073709551615 } }",
          EINVAL, "%s: .convergence.after_iterations: expected an integer from 1 to 1000, got 18446744073709551615" },
        { "range-tiny.json", "{ \"match\": { \"names\": [\"a\"] }, \"guest\": { \"agent_timeout_s\": 1e-9 } }",
          EINVAL, "%s: .guest.agent_timeout_s: expected a number of seconds above 0 and at most 600, got 1e-9" },
        { "bond-long.json", "{ \"match\": { \"names\": [\"a\"] }, \"guest\": { \"bond\": \"bond0123456789ab\" } }",
          EINVAL, "%s: .guest.bond: expected an interface name of 1 to 15 letters, digits, '-', '_' or '.', got \"bond0123456789ab\"" },
        { "vf.json", "{ \"match\": { \"names\": [\"a\"] }, \"guest\": { \"vf\": \"eth 0\" } }",
          EINVAL, "%s: .guest.vf: expected \"auto\", a MAC address or a device alias, got \"eth 0\"" },
        /* enums */
        { "enum.json", "{ \"match\": { \"names\": [\"a\"] }, \"convergence\": { \"action\": \"panic\" } }",
          EINVAL, "%s: .convergence.action: expected one of \"raise-downtime\", \"postcopy\", \"abort\", got \"panic\"" },
        { "enum-path.json", "{ \"match\": { \"names\": [\"a\"] }, \"migration\": { \"path\": \"vfio\" } }",
          EINVAL, "%s: .migration.path: expected one of \"auto\", \"native\", \"failover\", got \"vfio\"" },
        { "type-path.json", "{ \"match\": { \"names\": [\"a\"] }, \"migration\": { \"path\": true } }",
          EINVAL, "%s: .migration.path: expected one of \"auto\", \"native\", \"failover\", got true" },
        { "enum-plug.json", "{ \"match\": { \"names\": [\"a\"] }, \"plug\": { \"source\": \"pool\" } }",
          EINVAL, "%s: .plug.source: expected one of \"recorded\", \"network\", \"template\", got \"pool\"" },
        /* match */
        { "glob.json", "{ \"match\": { \"names\": [\"ok\", \"web-[ab\"] } }",
          EINVAL, "%s: .match.names[1]: \"web-[ab\" is not a valid glob pattern: '[' without a closing ']'" },
        { "glob-escape.json", "{ \"match\": { \"names\": [\"web\\\\\"] } }",
          EINVAL, "%s: .match.names[0]: \"web\\\" is not a valid glob pattern: it ends in a lone '\\'" },
        { "glob-empty.json", "{ \"match\": { \"names\": [\"\"] } }",
          EINVAL, "%s: .match.names[0]: \"\" is not a valid glob pattern: an empty pattern matches no domain" },
        { "uuid.json", "{ \"match\": { \"uuids\": [\"4b1b5d2e-8f0a-4c55-9d3e-2a7c1e6f9b1\"] } }",
          EINVAL, "%s: .match.uuids[0]: expected a UUID (8-4-4-4-12 hexadecimal digits), got \"4b1b5d2e-8f0a-4c55-9d3e-2a7c1e6f9b1\"" },
        { "uuid-long.json", "{ \"match\": { \"uuids\": [\"4b1b5d2e-8f0a-4c55-9d3e-2a7c1e6f9b10-and-more\"] } }",
          EINVAL, "%s: .match.uuids[0]: expected a UUID (8-4-4-4-12 hexadecimal digits), got \"4b1b5d2e-8f0a-4c55-9d3e-2a7c1e6f9b10-an..." },
        { "element.json", "{ \"match\": { \"metadata\": [ { \"namespace\": \"u\", \"element\": \"srvm:tier\" } ] } }",
          EINVAL, "%s: .match.metadata[0].element: expected an XML element name without a prefix, got \"srvm:tier\"" },
        { "namespace.json", "{ \"match\": { \"metadata\": [ { \"element\": \"tier\" } ] } }",
          EINVAL, "%s: .match.metadata[0].namespace: missing; a metadata match needs the namespace URI" },
        { "no-match.json", "{ \"guest\": { \"bond\": \"bond0\" } }",
          EINVAL, "%s: .match: missing; every policy but the default one needs it" },
        { "empty-match.json", "{ \"match\": { \"names\": [], \"uuids\": [] } }",
          EINVAL, "%s: .match: names, uuids and metadata are all empty, so the policy would match no domain" },
        { "default.json", "{ \"match\": { \"names\": [\"*\"] } }",
          EINVAL, "%s: .match: the default policy matches every domain and takes no match" },
        /* across keys */
        { "postcopy.json", "{ \"match\": { \"names\": [\"a\"] }, \"convergence\": { \"action\": \"postcopy\" } }",
          EINVAL, "%s: .convergence.action: \"postcopy\" needs .migration.allow_postcopy set to true" },
        { "multifd-postcopy.json", "{ \"match\": { \"names\": [\"a\"] },"
                                   "  \"migration\": { \"parallel_connections\": 2, \"allow_postcopy\": true } }",
          EINVAL, "%s: .migration.parallel_connections: parallel connections (multifd) cannot be combined with allow_postcopy in QEMU 7.2" },
        { "multifd-xbzrle.json", "{ \"match\": { \"names\": [\"a\"] },"
                                 "  \"migration\": { \"parallel_connections\": 2, \"compression\": \"xbzrle\" } }",
          EINVAL, "%s: .migration.compression: \"xbzrle\" compresses one stream: it cannot be combined with parallel_connections" },
        { "connections.json", "{ \"match\": { \"names\": [\"a\"] }, \"migration\": { \"parallel_connections\": 256 } }",
          EINVAL, "%s: .migration.parallel_connections: expected an integer from 0 to 255, got 256" },
        { "compression.json", "{ \"match\": { \"names\": [\"a\"] }, \"migration\": { \"compression\": \"zstd\" } }",
          EINVAL, "%s: .migration.compression: expected one of \"none\", \"xbzrle\", \"mt\", got \"zstd\"" },
        { "ceiling.json", "{ \"match\": { \"names\": [\"a\"] }, \"migration\": { \"max_downtime_ms\": 500 },"
                          "  \"convergence\": { \"downtime_ceiling_ms\": 400 } }",
          EINVAL, "%s: .convergence.downtime_ceiling_ms: 400 is below .migration.max_downtime_ms (500)" },
        { "network-missing.json", "{ \"match\": { \"names\": [\"a\"] }, \"plug\": { \"source\": \"network\" } }",
          EINVAL, "%s: .plug.network: missing; \"source\": \"network\" needs it" },
        { "network-unused.json", "{ \"match\": { \"names\": [\"a\"] }, \"plug\": { \"network\": \"pool\" } }",
          EINVAL, "%s: .plug.network: only used with \"source\": \"network\"" },
        { "model.json", "{ \"match\": { \"names\": [\"a\"] }, \"plug\": { \"source\": \"network\", \"network\": \"p\", \"model\": \"virtio\" } }",
          EINVAL, "%s: .plug.model: expected a NIC model name other than virtio, got \"virtio\"" },
        { "template.json", "{ \"match\": { \"names\": [\"a\"] }, \"plug\": { \"source\": \"template\", \"template\": \"<interface>{mac}{host}</interface>\" } }",
          EINVAL, "%s: .plug.template: unknown placeholder {host}; only {mac} and {alias} are replaced" },
        { "template-xml.json", "{ \"match\": { \"names\": [\"a\"] }, \"plug\": { \"source\": \"template\", \"template\": \"<hostdev/>\" } }",
          EINVAL, "%s: .plug.template: expected an <interface> element, got \"<hostdev/>\"" },
        { "nul.json", "{ \"match\": { \"names\": [\"a\"] }, \"description\": \"a\\u0000b\" }",
          EINVAL, "%s: .description: expected a string, got a string with a NUL character" },
        /* the file itself */
        { "bad name.json", "{}", EINVAL,
          "%s: a policy file's name is letters, digits, '-', '_', '.' or '@' and ends in .json" },
        { "policy.txt", "{}", EINVAL,
          "%s: a policy file's name is letters, digits, '-', '_', '.' or '@' and ends in .json" },
};

/* sentence with its one "%s" replaced by path. */
static void expand(char *buf, size_t size, const char *sentence, const char *path) {
        const char *at = strstr(sentence, "%s");

        ASSERT_NOT_NULL(at);
        snprintf(buf, size, "%.*s%s%s", (int) (at - sentence), sentence, path, at + 2);
}

static void test_invalid(void) {
        for (size_t i = 0; i < ELEMENTSOF(invalid); i++) {
                _cleanup_free_ char *error = NULL;
                Policy *p = (Policy *) 0x1; /* untouched on failure */
                char path[512], expected[1024];

                fprintf(stderr, "invalid: %s\n", invalid[i].file);
                scratch_path(path, sizeof path, "invalid", invalid[i].file);
                write_file(path, invalid[i].text);
                ASSERT_ERR(policy_parse_file(path, &p, &error), invalid[i].error);
                ASSERT_TRUE(p == (Policy *) 0x1);
                expand(expected, sizeof expected, invalid[i].sentence, path);
                ASSERT_STREQ(error, expected);
                ASSERT_EQ_INT(unlink(path), 0);
        }
}

static void test_unreadable(void) {
        _cleanup_free_ char *error = NULL, *expected = NULL;
        Policy *p = NULL;
        char path[512];

        scratch_path(path, sizeof path, "unreadable", "missing.json");
        ASSERT_ERR(policy_parse_file(path, &p, &error), ENOENT);
        ASSERT_TRUE(asprintf(&expected, "%s: cannot open: No such file or directory", path) > 0);
        ASSERT_STREQ(error, expected);
        ASSERT_NULL(p);

        /* A caller that does not want the sentence may pass NULL. */
        ASSERT_ERR(policy_parse_file(path, &p, NULL), ENOENT);

        scratch_path(path, sizeof path, "unreadable", "dir.json");
        ASSERT_EQ_INT(mkdir(path, 0700), 0);
        free(error);
        error = NULL;
        ASSERT_ERR(policy_parse_file(path, &p, &error), EISDIR);
        ASSERT_NOT_NULL(strstr(error, "dir.json: is a directory"));
        ASSERT_EQ_INT(rmdir(path), 0);
}

/* parse(to_json(p)) is p again, for a policy that sets everything. */
static void test_round_trip(void) {
        _cleanup_(policy_freep) Policy *p = NULL, *q = NULL;
        _cleanup_(json_object_putp) json_object *a = NULL, *b = NULL;
        char path[512];

        p = parse_text("full.json",
                       "{ \"description\": \"all\","
                       "  \"match\": { \"names\": [\"web-*\", \"db1\"], \"uuids\": [\"4b1b5d2e-8f0a-4c55-9d3e-2a7c1e6f9b10\"],"
                       "    \"metadata\": [ { \"namespace\": \"https://x.example/1\", \"element\": \"tier\", \"value\": \"web\" } ] },"
                       "  \"guest\": { \"bond\": \"bond1\", \"vf\": \"ua-vf0\", \"agent_timeout_s\": 0.5 },"
                       "  \"plug\": { \"source\": \"network\", \"network\": \"pool\", \"model\": \"e1000e\" },"
                       "  \"budgets_s\": { \"migrate\": 12.5 },"
                       "  \"migration\": { \"max_downtime_ms\": 100, \"bandwidth_mib_s\": 1000, \"auto_converge\": true, \"allow_postcopy\": true },"
                       "  \"convergence\": { \"after_iterations\": 2, \"action\": \"postcopy\", \"downtime_step_ms\": 5, \"downtime_ceiling_ms\": 150 },"
                       "  \"on_failure\": { \"plug\": { \"retries\": 1, \"backoff_s\": 0.1 } } }",
                       path, sizeof path);
        ASSERT_OK(policy_to_json(p, &a));
        q = parse_text("full.json", json_object_to_json_string_ext(a, JSON_C_TO_STRING_PRETTY), path, sizeof path);
        ASSERT_OK(policy_to_json(q, &b));
        ASSERT_STREQ(json_object_to_json_string(a), json_object_to_json_string(b));
}

/* ---- the VF to plug, and convergence ---- */

static void test_plug_xml(void) {
        _cleanup_(policy_freep) Policy *rec = NULL, *net = NULL, *tpl = NULL;
        char path[512];
        char *x = NULL;

        ASSERT_OK(policy_new_default(&rec));
        ASSERT_ERR(policy_make_plug_xml(rec, NULL, NULL, NULL, &x), ENODATA);
        ASSERT_OK(policy_make_plug_xml(rec, "<interface type='hostdev'/>", NULL, NULL, &x));
        ASSERT_STREQ(x, "<interface type='hostdev'/>");
        free(x);
        x = NULL;

        net = parse_text("net.json", "{ \"match\": { \"names\": [\"a\"] }, \"plug\": { \"source\": \"network\", "
                                     "\"network\": \"sriov-pool\", \"model\": \"e1000e\" } }", path, sizeof path);
        ASSERT_ERR(policy_make_plug_xml(net, NULL, NULL, "ua-vf0", &x), ENODATA);
        ASSERT_ERR(policy_make_plug_xml(net, NULL, "52:54:00:00:00:0g", NULL, &x), EINVAL);
        ASSERT_ERR(policy_make_plug_xml(net, NULL, "52:54:00:00:00:02", "ua'vf", &x), EINVAL);
        ASSERT_NULL(x);
        ASSERT_OK(policy_make_plug_xml(net, NULL, "52:54:00:00:00:02", "ua-vf0", &x));
        ASSERT_STREQ(x, "<interface type='network'>\n"
                        "  <mac address='52:54:00:00:00:02'/>\n"
                        "  <source network='sriov-pool'/>\n"
                        "  <model type='e1000e'/>\n"
                        "  <alias name='ua-vf0'/>\n"
                        "</interface>\n");
        free(x);
        x = NULL;

        tpl = parse_text("tpl.json", "{ \"match\": { \"names\": [\"a\"] }, \"plug\": { \"source\": \"template\", "
                                     "\"template\": \"<interface type='network'><mac address='{mac}'/>{ x }"
                                     "<alias name='{alias}'/></interface>\" } }", path, sizeof path);
        ASSERT_ERR(policy_make_plug_xml(tpl, NULL, "52:54:00:00:00:02", NULL, &x), ENODATA);
        ASSERT_OK(policy_make_plug_xml(tpl, NULL, "52:54:00:00:00:02", "ua-vf0", &x));
        ASSERT_STREQ(x, "<interface type='network'><mac address='52:54:00:00:00:02'/>{ x }"
                        "<alias name='ua-vf0'/></interface>");
        free(x);
}

static void test_convergence(void) {
        static const struct {
                const char *action;
                unsigned iteration;
                uint64_t current;
                PolicyConvergenceStep step;
                uint64_t next;
        } table[] = {
                { "raise-downtime", 1, 300, POLICY_STEP_NONE, 0 },
                { "raise-downtime", 2, 300, POLICY_STEP_NONE, 0 },
                { "raise-downtime", 3, 300, POLICY_STEP_RAISE_DOWNTIME, 500 },
                { "raise-downtime", 4, 500, POLICY_STEP_NONE, 0 },
                { "raise-downtime", 6, 500, POLICY_STEP_RAISE_DOWNTIME, 700 },
                { "raise-downtime", 9, 700, POLICY_STEP_RAISE_DOWNTIME, 800 }, /* capped at the ceiling */
                { "raise-downtime", 12, 800, POLICY_STEP_NONE, 0 },            /* at the ceiling */
                { "postcopy", 2, 300, POLICY_STEP_NONE, 0 },
                { "postcopy", 3, 300, POLICY_STEP_POSTCOPY, 0 },
                { "postcopy", 4, 300, POLICY_STEP_POSTCOPY, 0 },
                { "abort", 3, 300, POLICY_STEP_ABORT, 0 },
                { "abort", 0, 300, POLICY_STEP_NONE, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                _cleanup_(policy_freep) Policy *p = NULL;
                char text[512], path[512];
                uint64_t next = 0;

                snprintf(text, sizeof text,
                         "{ \"match\": { \"names\": [\"a\"] }, \"migration\": { \"allow_postcopy\": true },"
                         "  \"convergence\": { \"action\": \"%s\", \"after_iterations\": 3,"
                         "    \"downtime_step_ms\": 200, \"downtime_ceiling_ms\": 800 } }", table[i].action);
                p = parse_text("conv.json", text, path, sizeof path);
                ASSERT_EQ_INT(policy_decide_convergence(p, table[i].iteration, table[i].current, &next),
                              table[i].step);
                ASSERT_EQ_INT(next, table[i].next);
        }
}

/* ---- sets ---- */

static PolicySet *load(const char *const *dirs) {
        _cleanup_free_ char *error = NULL;
        PolicySet *s = NULL;
        int r;

        r = policy_set_load(dirs, &s, &error);
        if (r < 0)
                ASSERT_FAIL_("policy_set_load: %d: %s", r, strna(error));
        ASSERT_NULL(error);
        return s;
}

static void test_resolve(void) {
        static const struct {
                const char *file;
                const char *text;
        } files[] = {
                { "a-glob.json", "{ \"match\": { \"names\": [\"web-*\"] } }" },
                { "b-glob-longer.json", "{ \"match\": { \"names\": [\"web-prod-*\"] } }" },
                { "c-glob-tie.json", "{ \"match\": { \"names\": [\"web-*-1\"] } }" },
                { "d-name.json", "{ \"match\": { \"names\": [\"web-prod-7\"] } }" },
                { "e-meta-any.json", "{ \"match\": { \"metadata\": [ { \"namespace\": \"https://x.example/1\", \"element\": \"tier\" } ] } }" },
                { "f-meta-value.json", "{ \"match\": { \"metadata\": [ { \"namespace\": \"https://x.example/1\", \"element\": \"tier\", \"value\": \"gold\" } ] } }" },
                { "g-uuid.json", "{ \"match\": { \"uuids\": [\"00000000-0000-0000-0000-00000000000a\"] } }" },
                { "h-uuid-tie.json", "{ \"match\": { \"uuids\": [\"00000000-0000-0000-0000-00000000000A\"], \"names\": [\"x\"] } }" },
                { "i-name-tie.json", "{ \"match\": { \"names\": [\"solo\"] } }" },
                { "j-name-tie.json", "{ \"match\": { \"names\": [\"solo\", \"s*\"] } }" },
        };
        static const PolicyMetadata tier_gold[] = {
                { "https://x.example/1", "tier", "gold" },
        };
        static const PolicyMetadata tier_silver[] = {
                { "https://other.example", "tier", "gold" },
                { "https://x.example/1", "tier", "silver" },
        };
        static const struct {
                PolicyDomainInfo d;
                const char *policy;
                PolicyMatchKind kind;
        } table[] = {
                { { .name = "db-1" }, "default", POLICY_MATCH_DEFAULT },
                { { .name = NULL }, "default", POLICY_MATCH_DEFAULT },
                /* "web-*" and "web-*-1" both match with a literal prefix of 4: name order */
                { { .name = "web-x-1" }, "a-glob", POLICY_MATCH_GLOB },
                { { .name = "web-a" }, "a-glob", POLICY_MATCH_GLOB },
                { { .name = "web-prod-3" }, "b-glob-longer", POLICY_MATCH_GLOB },
                { { .name = "web-prod-7" }, "d-name", POLICY_MATCH_NAME },
                { { .name = "web-prod-7", .metadata = tier_silver, .n_metadata = 2 }, "e-meta-any", POLICY_MATCH_METADATA },
                { { .name = "web-prod-7", .metadata = tier_gold, .n_metadata = 1 }, "f-meta-value", POLICY_MATCH_METADATA },
                { { .name = "web-prod-7", .uuid = "00000000-0000-0000-0000-00000000000A", .metadata = tier_gold, .n_metadata = 1 },
                  "g-uuid", POLICY_MATCH_UUID },
                { { .name = "x", .uuid = "00000000-0000-0000-0000-00000000000b" }, "h-uuid-tie", POLICY_MATCH_NAME },
                { { .name = "solo" }, "i-name-tie", POLICY_MATCH_NAME },
                { { .name = "sx" }, "j-name-tie", POLICY_MATCH_GLOB },
        };
        const char *dirs[2] = { NULL, NULL };
        _cleanup_(policy_set_freep) PolicySet *s = NULL;
        char dir[512];

        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                char path[512];

                scratch_path(path, sizeof path, "resolve", files[i].file);
                write_file(path, files[i].text);
        }
        scratch_path(dir, sizeof dir, "resolve", NULL);
        dirs[0] = dir;
        s = load(dirs);
        ASSERT_EQ_INT(policy_set_size(s), ELEMENTSOF(files) + 1); /* and the built-in default */
        ASSERT_STREQ(policy_get_name(policy_set_get(s, 3)), "d-name");
        ASSERT_STREQ(policy_get_name(policy_set_get(s, 4)), "default");
        ASSERT_NULL(policy_get_path(policy_set_get(s, 4)));
        ASSERT_NULL(policy_set_get(s, ELEMENTSOF(files) + 1));
        ASSERT_NOT_NULL(policy_set_get_by_name(s, "g-uuid"));
        ASSERT_NULL(policy_set_get_by_name(s, "nope"));

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                PolicyMatchKind kind = _POLICY_MATCH_KIND_INVALID;
                const Policy *p;

                fprintf(stderr, "resolve: %s\n", strna(table[i].d.name));
                p = policy_set_resolve(s, &table[i].d, &kind);
                ASSERT_NOT_NULL(p);
                ASSERT_STREQ(policy_get_name(p), table[i].policy);
                ASSERT_STREQ(policy_match_kind_to_string(kind), policy_match_kind_to_string(table[i].kind));
        }
        ASSERT_TRUE(policy_is_default(policy_set_resolve(s, NULL, NULL)));
}

/* The cap on migrations at once, from the default policy. */
static void test_host_settings(void) {
        _cleanup_(json_object_putp) json_object *j = NULL;
        const char *dirs[2] = { NULL, NULL };
        char dir[512], path[512];
        PolicySet *s;

        scratch_path(dir, sizeof dir, "host", NULL);
        dirs[0] = dir;
        scratch_path(path, sizeof path, "host", "default.json");
        write_file(path, "{ \"host\": { \"max_migrations\": 3 } }");
        s = load(dirs);
        ASSERT_EQ_INT(policy_set_get_max_migrations(s), 3);
        ASSERT_OK(policy_to_json(policy_set_get_by_name(s, "default"), &j));
        ASSERT_STREQ(json_at(j, ".host.max_migrations"), "3");
        policy_set_free(s);

        write_file(path, "{ \"guest\": { \"bond\": \"bond1\" } }");
        s = load(dirs);
        ASSERT_EQ_INT(policy_set_get_max_migrations(s), 0);
        policy_set_free(s);
        ASSERT_EQ_INT(policy_set_get_max_migrations(NULL), 0);
        ASSERT_EQ_INT(unlink(path), 0);
}

static void test_set_all_or_nothing(void) {
        _cleanup_free_ char *error = NULL, *expected = NULL;
        PolicySet *s = (PolicySet *) 0x1;
        const char *dirs[3] = { NULL, NULL, NULL };
        char etc[512], usr[512], path[512], bad[512];

        scratch_path(path, sizeof path, "usr", "default.json");
        write_file(path, "{ \"guest\": { \"bond\": \"bond-usr\" } }");
        scratch_path(path, sizeof path, "usr", "web.json");
        write_file(path, "{ \"match\": { \"names\": [\"web-*\"] } }");
        scratch_path(path, sizeof path, "usr", "README");          /* not a policy: skipped */
        write_file(path, "not json");
        scratch_path(path, sizeof path, "usr", ".hidden.json");    /* hidden: skipped */
        write_file(path, "not json");
        scratch_path(path, sizeof path, "etc", "zz-good.json");
        write_file(path, "{ \"match\": { \"names\": [\"zz\"] } }");
        scratch_path(bad, sizeof bad, "etc", "mid.json");
        write_file(bad, "{ \"match\": { \"names\": [\"mid\"] }, \"migration\": { \"max_downtime_ms\": 0 } }");
        scratch_path(etc, sizeof etc, "etc", NULL);
        scratch_path(usr, sizeof usr, "usr", NULL);
        dirs[0] = etc;
        dirs[1] = usr;

        /* One bad file: no set at all, and the sentence names it. */
        ASSERT_ERR(policy_set_load(dirs, &s, &error), EINVAL);
        ASSERT_TRUE(s == (PolicySet *) 0x1);
        ASSERT_TRUE(asprintf(&expected, "%s: .migration.max_downtime_ms: expected an integer from 1 to 60000, got 0",
                             bad) > 0);
        ASSERT_STREQ(error, expected);

        /* Fixed: loads; the /etc file overrides the shipped one of the same name. */
        write_file(bad, "{ \"match\": { \"names\": [\"mid\"] } }");
        s = load(dirs);
        ASSERT_EQ_INT(policy_set_size(s), 4);
        ASSERT_STREQ(policy_get_bond(policy_set_get_by_name(s, "default")), "bond-usr");
        scratch_path(path, sizeof path, "etc", "default.json");
        write_file(path, "{ \"guest\": { \"bond\": \"bond-etc\" } }");
        policy_set_free(s);
        s = load(dirs);
        ASSERT_EQ_INT(policy_set_size(s), 4);
        ASSERT_STREQ(policy_get_bond(policy_set_get_by_name(s, "default")), "bond-etc");
        ASSERT_STREQ(policy_get_path(policy_set_get_by_name(s, "default")), path);
        ASSERT_STREQ(policy_get_bond(policy_set_resolve(s, &(PolicyDomainInfo) { .name = "db" }, NULL)), "bond-etc");
        ASSERT_STREQ(policy_get_name(policy_set_resolve(s, &(PolicyDomainInfo) { .name = "web-1" }, NULL)), "web");
        policy_set_free(s);

        /* An override may also be the bad file. */
        scratch_path(path, sizeof path, "etc", "web.json");
        write_file(path, "{ \"match\": { \"names\": [\"web-*\"] }, \"guest\": { \"vff\": 1 } }");
        s = NULL;
        free(error);
        error = NULL;
        ASSERT_ERR(policy_set_load(dirs, &s, &error), EINVAL);
        ASSERT_NULL(s);
        ASSERT_NOT_NULL(strstr(error, "/etc/web.json: .guest.vff: unknown key"));
        ASSERT_EQ_INT(unlink(path), 0);

        /* A badly named file is an error, not silently ignored. */
        scratch_path(path, sizeof path, "etc", "my policy.json");
        write_file(path, "{}");
        free(error);
        error = NULL;
        ASSERT_ERR(policy_set_load(dirs, &s, &error), EINVAL);
        ASSERT_NOT_NULL(strstr(error, "/etc/my policy.json: a policy file's name is"));
        ASSERT_EQ_INT(unlink(path), 0);

        /* Directories that do not exist are skipped: the built-in default alone. */
        dirs[0] = "/nonexistent/srvm/policies.d";
        dirs[1] = NULL;
        s = load(dirs);
        ASSERT_EQ_INT(policy_set_size(s), 1);
        ASSERT_TRUE(policy_is_default(policy_set_get(s, 0)));
        policy_set_free(s);
}

/* The files in the source tree's policies/: they load, and default.json says exactly what the
 * built-in default does. */
static void test_shipped(void) {
        const char *src = getenv("SRVM_POLICY_DIR");
        _cleanup_(json_object_putp) json_object *a = NULL, *b = NULL;
        _cleanup_(policy_set_freep) PolicySet *s = NULL, *e = NULL;
        _cleanup_(policy_freep) Policy *builtin = NULL;
        const char *dirs[2] = { NULL, NULL };
        char examples[512];

        if (!src) {
                fprintf(stderr, "SRVM_POLICY_DIR not set, not checking the shipped policies\n");
                return;
        }
        dirs[0] = src;
        s = load(dirs);
        ASSERT_EQ_INT(policy_set_size(s), 1);
        ASSERT_NOT_NULL(policy_get_path(policy_set_get(s, 0)));
        ASSERT_OK(policy_new_default(&builtin));
        ASSERT_OK(policy_to_json(builtin, &a));
        ASSERT_OK(policy_to_json(policy_set_get(s, 0), &b));
        json_object_object_del(b, "description");
        ASSERT_STREQ(json_object_to_json_string(a), json_object_to_json_string(b));

        snprintf(examples, sizeof examples, "%s/examples", src);
        dirs[0] = examples;
        e = load(dirs);
        ASSERT_EQ_INT(policy_set_size(e), 4); /* three examples and the built-in default */
        ASSERT_STREQ(policy_get_name(policy_set_resolve(e, &(PolicyDomainInfo) { .name = "web-01" }, NULL)),
                     "web-tier");
        ASSERT_STREQ(policy_get_name(policy_set_resolve(e, &(PolicyDomainInfo) {
                             .name = "web-01",
                             .metadata = &(PolicyMetadata) { "https://srvm.example.org/xmlns/srvm/1", "policy", "production" },
                             .n_metadata = 1 }, NULL)),
                     "production-pool");
}

/* Whether word is a whole token of a ".B"/".BR"/".BI" line of the page: the way the page
 * names a key or a value. */
static bool man_names(const char *page, const char *word) {
        size_t n = strlen(word);

        for (const char *l = page; l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
                const char *end = strchr(l, '\n');

                if (strncmp(l, ".B", 2) != 0)
                        continue;
                for (const char *c = strstr(l, word); c && (!end || c < end); c = strstr(c + 1, word))
                        if (strchr(" \"", c[-1]) && strchr(" \",.;\n", c[n]))
                                return true;
        }
        return false;
}

/* Every key and every value name of the effective JSON, walked recursively. */
static void check_man_keys(const char *page, json_object *o) {
        if (json_object_is_type(o, json_type_array)) {
                for (size_t i = 0; i < json_object_array_length(o); i++)
                        check_man_keys(page, json_object_array_get_idx(o, i));
                return;
        }
        if (!json_object_is_type(o, json_type_object))
                return;
        json_object_object_foreach(o, key, v) {
                if (!man_names(page, key))
                        ASSERT_FAIL_("srvm-policy(5) does not describe the key \"%s\"", key);
                check_man_keys(page, v);
        }
}

/* srvm-policy(5) names every key the code accepts and every enum value (SRVM_POLICY_MAN). */
static void test_man_page(void) {
        const char *man = getenv("SRVM_POLICY_MAN");
        _cleanup_(policy_freep) Policy *full = NULL, *tpl = NULL;
        _cleanup_(json_object_putp) json_object *a = NULL, *b = NULL;
        _cleanup_free_ char *page = NULL;
        char path[512];
        size_t size = 0;
        FILE *f;

        if (!man) {
                fprintf(stderr, "SRVM_POLICY_MAN not set, not checking the man page\n");
                return;
        }
        f = fopen(man, "re");
        ASSERT_NOT_NULL(f);
        page = calloc(1, 256 * 1024);
        ASSERT_NOT_NULL(page);
        size = fread(page, 1, 256 * 1024 - 1, f);
        ASSERT_TRUE(size > 0);
        fclose(f);

        /* Between them, these two set every key there is. */
        full = parse_text("man-full.json",
                          "{ \"description\": \"d\","
                          "  \"match\": { \"names\": [\"a\"], \"uuids\": [\"4b1b5d2e-8f0a-4c55-9d3e-2a7c1e6f9b10\"],"
                          "    \"metadata\": [ { \"namespace\": \"u\", \"element\": \"e\", \"value\": \"v\" } ] },"
                          "  \"plug\": { \"source\": \"network\", \"network\": \"pool\", \"model\": \"e1000e\" } }",
                          path, sizeof path);
        tpl = parse_text("man-template.json",
                         "{ \"match\": { \"names\": [\"a\"] }, \"plug\": { \"source\": \"template\", \"template\": \"<interface/>\" } }",
                         path, sizeof path);
        ASSERT_OK(policy_to_json(full, &a));
        ASSERT_OK(policy_to_json(tpl, &b));
        check_man_keys(page, a);
        check_man_keys(page, b);
        {
                _cleanup_(policy_freep) Policy *def = parse_text("default.json", "{ \"host\": { \"max_migrations\": 2 } }",
                                                                 path, sizeof path);
                _cleanup_(json_object_putp) json_object *c = NULL;

                ASSERT_OK(policy_to_json(def, &c));
                check_man_keys(page, c);
        }

        for (PolicyPlugSource s = 0; s < _POLICY_PLUG_SOURCE_MAX; s++)
                ASSERT_TRUE(man_names(page, policy_plug_source_to_string(s)));
        for (PolicyConvergenceAction c = 0; c < _POLICY_CONVERGENCE_ACTION_MAX; c++)
                ASSERT_TRUE(man_names(page, policy_convergence_action_to_string(c)));
        for (PolicyMigrationPath m = 0; m < _POLICY_PATH_MAX; m++)
                ASSERT_TRUE(man_names(page, policy_migration_path_to_string(m)));
        ASSERT_TRUE(man_names(page, "auto"));
        ASSERT_TRUE(man_names(page, POLICY_ADMIN_DIR));
}

static void test_string_tables(void) {
        for (PolicyMatchKind k = 0; k < _POLICY_MATCH_KIND_MAX; k++)
                ASSERT_EQ_INT(policy_match_kind_from_string(policy_match_kind_to_string(k)), k);
        for (PolicyPlugSource s = 0; s < _POLICY_PLUG_SOURCE_MAX; s++)
                ASSERT_EQ_INT(policy_plug_source_from_string(policy_plug_source_to_string(s)), s);
        for (PolicyConvergenceAction a = 0; a < _POLICY_CONVERGENCE_ACTION_MAX; a++)
                ASSERT_EQ_INT(policy_convergence_action_from_string(policy_convergence_action_to_string(a)), a);
        for (PolicyConvergenceStep s = 0; s < _POLICY_STEP_MAX; s++)
                ASSERT_EQ_INT(policy_convergence_step_from_string(policy_convergence_step_to_string(s)), s);
        for (PolicyMigrationPath m = 0; m < _POLICY_PATH_MAX; m++)
                ASSERT_EQ_INT(policy_migration_path_from_string(policy_migration_path_to_string(m)), m);
        ASSERT_EQ_INT(policy_migration_path_from_string("vfio"), _POLICY_PATH_INVALID);
        ASSERT_EQ_INT(policy_convergence_action_from_string("panic"), _POLICY_CONVERGENCE_ACTION_INVALID);
        ASSERT_NULL(policy_plug_source_to_string(_POLICY_PLUG_SOURCE_MAX));
        ASSERT_NULL(policy_free(NULL));
        ASSERT_NULL(policy_set_free(NULL));
}

int main(void) {
        ASSERT_NOT_NULL(mkdtemp(scratch));
        test_valid();
        test_accessors();
        test_invalid();
        test_unreadable();
        test_round_trip();
        test_plug_xml();
        test_convergence();
        test_resolve();
        test_host_settings();
        test_set_all_or_nothing();
        test_shipped();
        test_man_page();
        test_string_tables();
        remove_tree(scratch);
        printf("test-policy: all passed\n");
        return 0;
}
