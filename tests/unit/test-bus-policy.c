/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Finding whether the bus's policy files let a group call srvmd. */
#include <stdio.h>
#include <sys/stat.h>

#include "assert.h"
#include "bus-policy.h"
#include "macro.h"

int main(void) {
        char dir[] = "/tmp/test-bus-policy-XXXXXX", cmd[600];
        const char *dirs[] = { "/nonexistent/system.d", dir, NULL };
        _cleanup_free_ char *file = NULL;

        ASSERT_NOT_NULL(mkdtemp(dir));
        assert_write_file(dir, "org.srvm.srvm1.conf",
                   "<busconfig><policy user='root'><allow own='org.srvm.srvm1'/></policy>"
                   "<policy group='srvm'><allow send_destination='org.srvm.srvm1'/></policy></busconfig>");
        assert_write_file(dir, "other.conf", "<busconfig><policy group='ops'><allow send_destination='org.example.x'/></policy></busconfig>");
        assert_write_file(dir, "broken.conf", "<busconfig><policy group='ops'>");
        assert_write_file(dir, "ops.conf.disabled", "<busconfig><policy group='ops'><allow send_destination='org.srvm.srvm1'/></policy></busconfig>");

        ASSERT_EQ_INT(bus_policy_allows_group(dirs, "org.srvm.srvm1", "srvm", &file), 1);
        ASSERT_NOT_NULL(strstr(file, "/org.srvm.srvm1.conf"));
        ASSERT_EQ_INT(bus_policy_allows_group(dirs, "org.srvm.srvm1", "ops", NULL), 0);
        ASSERT_EQ_INT(bus_policy_allows_group(dirs, "org.srvm.srvm1", "root", NULL), 0);

        assert_write_file(dir, "srvm-ops.conf",
                   "<busconfig><policy group='ops'><allow receive_sender='org.srvm.srvm1'/>"
                   "<allow send_destination='org.srvm.srvm1'/></policy></busconfig>");
        ASSERT_EQ_INT(bus_policy_allows_group(dirs, "org.srvm.srvm1", "ops", NULL), 1);
        ASSERT_EQ_INT(bus_policy_allows_group((const char *const[]) { NULL }, "org.srvm.srvm1", "srvm", NULL), 0);

        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        ASSERT_TRUE(system(cmd) == 0);
        printf("test-bus-policy: all passed\n");
        return 0;
}
