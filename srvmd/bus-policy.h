/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Whether the system bus lets a group call srvmd. srvmd checks the admin group itself, but
 * the bus policy decides first: one installed for the group built in, with srvmd told
 * another at run time (--admin-group), would let neither group do anything and say nothing
 * about why. srvmd reads the bus's policy files at start and refuses to run so. Pure. */
#pragma once

/* The directories the system bus reads its policy drop-ins from, NULL-terminated. */
extern const char *const bus_policy_dirs_default[];

/* 1 and the file's path in *ret_file (may be NULL) if a *.conf file of dirs has a
 * <policy group="group"> with an <allow send_destination="name"/> in it; 0 if none; -ENOMEM.
 * Unreadable files and directories count as none. */
int bus_policy_allows_group(const char *const *dirs, const char *name, const char *group, char **ret_file);
