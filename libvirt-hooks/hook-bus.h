/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Telling the local srvmd what libvirt did to a domain, without ever waiting on srvmd: one
 * DomainEvent call (see srvm-hook.h) with no reply expected and no auto-start, on the
 * system bus, within a bounded time. */
#pragma once

#include "macro.h"

/* Send DomainEvent(domain, operation, sub_operation) to srvmd on the system bus (or the bus
 * at $DBUS_SYSTEM_BUS_ADDRESS). Returns 0 once the bus daemon has the message, -ENOENT or
 * -ECONNREFUSED at once if there is no bus, -ETIMEDOUT if the bus did not take it within
 * timeout, another negative errno on other failures. Whether srvmd runs is not known and
 * does not matter. Does not log. */
int hook_bus_notify(const char *domain, const char *operation, const char *sub_operation,
                    usec_t timeout);
