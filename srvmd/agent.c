/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The guest agent edge: guest-exec and guest-ping through libvirt's pass-through to
 * qemu-guest-agent. Blocking; used only from job worker threads. See agent.h. */
#include <limits.h>
#include <resolv.h>
#include <stdio.h>
#include <time.h>

#include <json-c/json.h>
#include <libvirt/libvirt-qemu.h>
#include <libvirt/virterror.h>

#include "agent.h"
#include "json-util.h"

#define POLL_DELAY_MIN_USEC (2 * USEC_PER_MSEC)
#define POLL_DELAY_MAX_USEC (50 * USEC_PER_MSEC)

static void sleep_usec(usec_t usec) {
        struct timespec ts = {
                .tv_sec = usec / USEC_PER_SEC,
                .tv_nsec = (usec % USEC_PER_SEC) * NSEC_PER_USEC,
        };

        while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
                ;
}

/* libvirt's agent timeout is in whole seconds; round up so we never cut a command short. */
static int timeout_to_seconds(usec_t timeout) {
        usec_t s = (timeout + USEC_PER_SEC - 1) / USEC_PER_SEC;

        if (s < 1)
                return 1;
        if (s > INT_MAX)
                return INT_MAX;
        return (int) s;
}

/* elapsed: how long the failed command took. libvirt gives the same code to an agent that
 * is not there at all and one that did not answer in time; only the clock tells them apart. */
static int error_from_libvirt(usec_t elapsed, usec_t timeout) {
        virErrorPtr e = virGetLastError();

        if (!e)
                return -EIO;
        switch (e->code) {
        case VIR_ERR_AGENT_UNRESPONSIVE:
                return elapsed + USEC_PER_SEC / 2 < timeout ? -ENOTCONN : -ETIME;
        case VIR_ERR_OPERATION_TIMEOUT:
                return -ETIME;
        case VIR_ERR_NO_MEMORY:
                return -ENOMEM;
        default:
                return -EIO;
        }
}

/* Send one command and hand back its "return" member. */
static int agent_command(virDomainPtr dom, json_object *cmd, usec_t timeout,
                         json_object **ret_return, usec_t *ret_rtt) {
        _cleanup_(json_object_putp) json_object *reply = NULL;
        _cleanup_free_ char *answer = NULL;
        json_object *value;
        const char *text;
        usec_t start;

        text = json_object_to_json_string_ext(cmd, JSON_C_TO_STRING_PLAIN);
        if (!text)
                return -ENOMEM;

        start = now_usec();
        answer = virDomainQemuAgentCommand(dom, text, timeout_to_seconds(timeout), 0);
        if (!answer)
                return error_from_libvirt(now_usec() - start,
                                          (usec_t) timeout_to_seconds(timeout) * USEC_PER_SEC);
        if (ret_rtt)
                *ret_rtt = now_usec() - start;

        reply = json_tokener_parse(answer);
        if (!reply || !json_object_is_type(reply, json_type_object))
                return -EBADMSG;
        if (!json_object_object_get_ex(reply, "return", &value))
                return -EBADMSG;

        *ret_return = json_object_get(value);
        return 0;
}

static int build_command(const char *execute, json_object *arguments, json_object **ret) {
        _cleanup_(json_object_putp) json_object *cmd = NULL, *args = arguments;

        cmd = json_object_new_object();
        if (!cmd)
                return -ENOMEM;
        if (json_object_object_add(cmd, "execute", json_object_new_string(execute)) < 0)
                return -ENOMEM;
        if (args) {
                if (json_object_object_add(cmd, "arguments", args) < 0)
                        return -ENOMEM;
                args = NULL;
        }

        *ret = TAKE_PTR(cmd);
        return 0;
}

static int build_exec(const char *path, char *const argv[], json_object **ret) {
        _cleanup_(json_object_putp) json_object *args = NULL, *list = NULL;

        args = json_object_new_object();
        list = json_object_new_array();
        if (!args || !list)
                return -ENOMEM;

        for (size_t i = 0; argv && argv[i]; i++)
                if (json_object_array_add(list, json_object_new_string(argv[i])) < 0)
                        return -ENOMEM;

        if (json_object_object_add(args, "path", json_object_new_string(path)) < 0)
                return -ENOMEM;
        if (json_object_object_add(args, "arg", TAKE_PTR(list)) < 0)
                return -ENOMEM;
        if (json_object_object_add(args, "capture-output", json_object_new_boolean(true)) < 0)
                return -ENOMEM;

        return build_command("guest-exec", TAKE_PTR(args), ret);
}

static int build_exec_status(int64_t pid, json_object **ret) {
        _cleanup_(json_object_putp) json_object *args = NULL;

        args = json_object_new_object();
        if (!args)
                return -ENOMEM;
        if (json_object_object_add(args, "pid", json_object_new_int64(pid)) < 0)
                return -ENOMEM;

        return build_command("guest-exec-status", TAKE_PTR(args), ret);
}

/* out-data/err-data: base64, absent when the stream was empty. */
static int decode_data(json_object *status, const char *key, char **ret, size_t *ret_size) {
        _cleanup_free_ char *buf = NULL;
        json_object *value;
        const char *text = "";
        size_t len;
        int n;

        if (json_object_object_get_ex(status, key, &value)) {
                if (!json_object_is_type(value, json_type_string))
                        return -EBADMSG;
                text = json_object_get_string(value);
        }

        len = strlen(text);
        buf = malloc(len / 4 * 3 + 4);
        if (!buf)
                return -ENOMEM;

        n = b64_pton(text, (unsigned char *) buf, len / 4 * 3 + 3);
        if (n < 0)
                return -EBADMSG;
        buf[n] = '\0';

        *ret = TAKE_PTR(buf);
        *ret_size = (size_t) n;
        return 0;
}

static bool get_bool(json_object *o, const char *key) {
        json_object *v;

        return json_object_object_get_ex(o, key, &v) && json_object_get_boolean(v);
}

static void add_sample(AgentExecResult *r, const char *command, usec_t rtt) {
        if (r->n_samples < AGENT_SAMPLES_MAX)
                r->samples[r->n_samples++] = (AgentSample) { .command = command, .rtt = rtt };
        if (rtt > r->max_rtt)
                r->max_rtt = rtt;
        r->n_commands++;
}

void agent_exec_result_done(AgentExecResult *r) {
        if (!r)
                return;
        free(r->out);
        free(r->err);
        *r = (AgentExecResult) {};
}

int agent_exec(virDomainPtr dom, const char *path, char *const argv[], usec_t timeout,
               AgentExecResult *ret) {
        _cleanup_(json_object_putp) json_object *cmd = NULL, *started = NULL;
        _cleanup_(agent_exec_result_done) AgentExecResult res = {};
        json_object *pid_value;
        usec_t start, deadline, delay = POLL_DELAY_MIN_USEC;
        int64_t pid;
        int r;

        if (!dom || !path || !ret)
                return -EINVAL;

        r = build_exec(path, argv, &cmd);
        if (r < 0)
                return r;

        start = now_usec();
        deadline = timeout == USEC_INFINITY ? USEC_INFINITY : start + timeout;

        r = agent_command(dom, cmd, timeout, &started, &res.exec_rtt);
        if (r < 0)
                return r;
        add_sample(&res, "guest-exec", res.exec_rtt);

        if (!json_object_object_get_ex(started, "pid", &pid_value) ||
            !json_object_is_type(pid_value, json_type_int))
                return -EBADMSG;
        pid = json_object_get_int64(pid_value);

        for (;;) {
                _cleanup_(json_object_putp) json_object *status_cmd = NULL, *status = NULL;
                json_object *v;
                usec_t now, rtt = 0;

                now = now_usec();
                if (now >= deadline)
                        return -ETIMEDOUT;

                r = build_exec_status(pid, &status_cmd);
                if (r < 0)
                        return r;
                r = agent_command(dom, status_cmd, deadline - now, &status, &rtt);
                if (r < 0)
                        return r;
                add_sample(&res, "guest-exec-status", rtt);

                if (!json_object_object_get_ex(status, "exited", &v) ||
                    !json_object_is_type(v, json_type_boolean))
                        return -EBADMSG;

                if (json_object_get_boolean(v)) {
                        res.elapsed = now_usec() - start;

                        if (json_object_object_get_ex(status, "exitcode", &v))
                                res.exit_code = json_object_get_int(v);
                        else
                                res.exit_code = -1;
                        if (json_object_object_get_ex(status, "signal", &v))
                                res.signal = json_object_get_int(v);

                        r = decode_data(status, "out-data", &res.out, &res.out_size);
                        if (r < 0)
                                return r;
                        r = decode_data(status, "err-data", &res.err, &res.err_size);
                        if (r < 0)
                                return r;
                        res.truncated = get_bool(status, "out-truncated") ||
                                        get_bool(status, "err-truncated");
                        break;
                }

                now = now_usec();
                if (now >= deadline)
                        return -ETIMEDOUT;
                sleep_usec(delay < deadline - now ? delay : deadline - now);
                delay = delay * 2 > POLL_DELAY_MAX_USEC ? POLL_DELAY_MAX_USEC : delay * 2;
        }

        *ret = res;
        res = (AgentExecResult) {};
        return 0;
}

int agent_ping(virDomainPtr dom, usec_t timeout, usec_t *ret_rtt) {
        _cleanup_(json_object_putp) json_object *cmd = NULL, *answer = NULL;
        usec_t rtt = 0;
        int r;

        if (!dom)
                return -EINVAL;

        r = build_command("guest-ping", NULL, &cmd);
        if (r < 0)
                return r;
        r = agent_command(dom, cmd, timeout, &answer, &rtt);
        if (r < 0)
                return r;

        if (ret_rtt)
                *ret_rtt = rtt;
        return 0;
}

static void format_timespan(char *buf, size_t size, usec_t t) {
        if (t == USEC_INFINITY)
                snprintf(buf, size, "ever");
        else if (t >= USEC_PER_SEC && t % USEC_PER_SEC == 0)
                snprintf(buf, size, "%llu s", t / USEC_PER_SEC);
        else if (t >= USEC_PER_SEC)
                snprintf(buf, size, "%.1f s", (double) t / USEC_PER_SEC);
        else
                snprintf(buf, size, "%llu ms", t / USEC_PER_MSEC);
}

int agent_describe_error(int error, usec_t timeout, char **ret) {
        char span[32];
        char *s = NULL;
        int n;

        /* libvirt rounds the agent's timeout up to whole seconds. */
        format_timespan(span, sizeof(span),
                        timeout == USEC_INFINITY ? timeout
                                                 : (usec_t) timeout_to_seconds(timeout) * USEC_PER_SEC);

        switch (-error) {
        case ETIME:
                n = asprintf(&s, "the guest agent did not answer within %s", span);
                break;
        case ENOTCONN:
                n = asprintf(&s, "the guest agent is not connected (is qemu-guest-agent running in the guest?)");
                break;
        case ETIMEDOUT:
                format_timespan(span, sizeof(span), timeout);
                n = asprintf(&s, "the program run through the guest agent did not exit within %s", span);
                break;
        case EBADMSG:
                n = asprintf(&s, "the guest agent sent an answer that could not be understood");
                break;
        case EIO:
                n = asprintf(&s, "the guest agent refused: %s", virGetLastErrorMessage());
                break;
        default:
                n = asprintf(&s, "the guest agent could not be used: %s", strerror(-error));
                break;
        }
        if (n < 0)
                return -ENOMEM;

        *ret = s;
        return 0;
}
