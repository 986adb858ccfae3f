/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The hook's only line to srvmd. See hook-bus.h. */
#include <time.h>

#include <systemd/sd-bus.h>

#include "config.h"
#include "hook-bus.h"
#include "srvm-hook.h"

static int on_driver_reply(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        int *done = userdata;

        /* Any answer, even an error, means the bus daemon has read what came before it. */
        *done = 1;
        return 0;
}

int hook_bus_notify(const char *domain, const char *operation, const char *sub_operation,
                    usec_t timeout) {
        _cleanup_(sd_bus_close_unrefp) sd_bus *bus = NULL; /* never flush: that may wait */
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        usec_t deadline = now_usec() + timeout;
        int done = 0, r;

        if (!domain || !operation || !sub_operation)
                return -EINVAL;

        /* Connecting to a unix socket does not wait: a missing bus fails here at once. The
         * authentication and Hello run in the bounded loop below. */
        r = sd_bus_open_system(&bus);
        if (r < 0)
                return r;

        r = sd_bus_message_new_method_call(bus, &m, SRVM_BUS_NAME, SRVM_BUS_PATH,
                                           SRVM_HOOK_BUS_INTERFACE, SRVM_HOOK_BUS_METHOD);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, SRVM_HOOK_BUS_SIGNATURE, domain, operation, sub_operation);
        if (r < 0)
                return r;
        r = sd_bus_message_set_expect_reply(m, 0);
        if (r < 0)
                return r;
        r = sd_bus_message_set_auto_start(m, 0);
        if (r < 0)
                return r;
        r = sd_bus_send(bus, m, NULL);
        if (r < 0)
                return r;

        /* The bus daemon handles a connection's messages in order, so its answer to this
         * call says the event was delivered (or dropped, if srvmd is not there). */
        r = sd_bus_call_method_async(bus, &slot, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                     "org.freedesktop.DBus", "GetId", on_driver_reply, &done,
                                     NULL);
        if (r < 0)
                return r;

        while (!done) {
                usec_t n;

                r = sd_bus_process(bus, NULL);
                if (r < 0)
                        return r;
                if (r > 0)
                        continue;

                n = now_usec();
                if (n >= deadline)
                        return -ETIMEDOUT;
                r = sd_bus_wait(bus, deadline - n);
                if (r < 0)
                        return r;
        }

        return 0;
}
