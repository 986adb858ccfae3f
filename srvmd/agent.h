/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The guest agent: run a program inside the guest through the stock qemu-guest-agent
 * (guest-exec, then guest-exec-status until it exits) and check that the agent answers
 * (guest-ping). Every call here blocks on libvirt, so only the job worker threads use it.
 * Nothing here logs; errors come back as negative errno values (see agent_exec()) and
 * agent_describe_error() turns one into a sentence. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <libvirt/libvirt.h>

#include "macro.h"

/* One agent command and its round trip: the agent's latency as srvmd sees it. */
typedef struct AgentSample {
        const char *command; /* "guest-exec", "guest-exec-status", "guest-ping": static */
        usec_t rtt;
} AgentSample;

#define AGENT_SAMPLES_MAX 32U

typedef struct AgentExecResult {
        int exit_code;       /* the program's exit status, or -1 if a signal ended it */
        int signal;          /* the signal that ended it, or 0 */
        char *out;           /* decoded stdout, NUL-terminated, owned; never NULL */
        size_t out_size;
        char *err;           /* decoded stderr, NUL-terminated, owned; never NULL */
        size_t err_size;
        bool truncated;      /* the agent cut stdout or stderr short */
        usec_t exec_rtt;     /* round trip of the guest-exec command: the agent's latency */
        usec_t max_rtt;      /* the slowest single agent command of this run */
        usec_t elapsed;      /* from sending guest-exec to seeing the program exited */
        unsigned n_commands; /* agent commands sent, guest-exec included */
        AgentSample samples[AGENT_SAMPLES_MAX]; /* the first n_samples of those commands */
        size_t n_samples;
} AgentExecResult;

void agent_exec_result_done(AgentExecResult *r);

/* Run path with argv (argv[0] is not passed: the agent's "arg" list is argv as given,
 * NULL-terminated, may be NULL) and wait until it exits, at most timeout. On success
 * fills *ret (which the caller releases with agent_exec_result_done()) and returns 0,
 * whatever the program's exit status. Errors:
 *   -ETIME      the agent did not answer a command in time
 *   -ENOTCONN   the agent is not connected (not running in the guest, or still starting)
 *   -ETIMEDOUT  the program did not exit within timeout
 *   -EBADMSG    the agent's answer could not be understood
 *   -EIO        libvirt or the agent refused; virGetLastErrorMessage() on this thread
 *               says why (e.g. the path does not exist in the guest)
 *   -ENOMEM */
int agent_exec(virDomainPtr dom, const char *path, char *const argv[], usec_t timeout,
               AgentExecResult *ret);

/* guest-ping within timeout. Returns 0 and the round trip in *ret_rtt (may be NULL), or
 * one of agent_exec()'s errors. */
int agent_ping(virDomainPtr dom, usec_t timeout, usec_t *ret_rtt);

/* A short sentence for an error of agent_exec()/agent_ping(), for instance "the guest
 * agent did not answer within 5 s". Call it on the thread that saw the error, so libvirt's
 * message for -EIO is the right one. */
int agent_describe_error(int error, usec_t timeout, char **ret);
