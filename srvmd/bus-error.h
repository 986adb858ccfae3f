/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The D-Bus error names srvmd replies with, shared by the daemon and srvmctl so both sides
 * agree on what a failure means. Argument errors use the standard
 * org.freedesktop.DBus.Error.InvalidArgs and refusals org.freedesktop.DBus.Error.AccessDenied. */
#pragma once

/* The domain already has a migration job running. */
#define SRVM_ERROR_BUSY "org.srvm.srvm1.Error.Busy"
/* No job with that id or path. */
#define SRVM_ERROR_NO_SUCH_JOB "org.srvm.srvm1.Error.NoSuchJob"
/* The job has already finished, so it cannot be cancelled. */
#define SRVM_ERROR_JOB_NOT_RUNNING "org.srvm.srvm1.Error.JobNotRunning"
/* The job runs, but cannot be cancelled now (past the point of no return, or already rolling
 * back). */
#define SRVM_ERROR_NOT_CANCELLABLE "org.srvm.srvm1.Error.NotCancellable"

/* libvirt on this host went away (restarted) and srvmd is connecting to it again. */
#define SRVM_ERROR_NOT_CONNECTED "org.srvm.srvm1.Error.NotConnected"

/* No policy of that name is in force. */
#define SRVM_ERROR_NO_SUCH_POLICY "org.srvm.srvm1.Error.NoSuchPolicy"
/* A policy file is bad, so Reload kept the policies in force. */
#define SRVM_ERROR_INVALID_POLICY "org.srvm.srvm1.Error.InvalidPolicy"

#define SRVM_MANAGER_INTERFACE "org.srvm.srvm1.Manager"
#define SRVM_JOB_INTERFACE "org.srvm.srvm1.Job"
