/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * dirty: a memory-dirtying workload for the lab guests, so a benchmark or a lab test can
 * migrate a busy guest. `dirty MIB_PER_S WORKING_SET_MIB` stops the one already running, if
 * any, then detaches a process that rewrites its working set (anonymous memory, populated at
 * start) page by page at MIB_PER_S, in 10 ms ticks, cycling through it; it runs until the
 * guest stops or `dirty 0 0` stops it. `dirty status` prints what the running one asked for
 * and what it did (pages written over its run time, as MiB/s), from the status file it
 * rewrites every second.
 *
 * Writing one byte of a page dirties the whole page for QEMU's migration, so the rate is
 * counted in pages of 4 KiB: MIB_PER_S * 256 page writes a second. A tick the process missed
 * (the vCPU was not scheduled, the VM was paused) is made up for by at most 100 ms of work, so
 * a pause does not turn into a burst.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PID_FILE "/run/dirty.pid"
#define STATUS_FILE "/run/dirty.status"
#define PAGE_BYTES 4096u
#define PAGES_PER_MIB (1024u * 1024u / PAGE_BYTES)
#define TICK_NS 10000000ull          /* 10 ms */
#define MAX_CATCH_UP_NS 100000000ull /* 100 ms of missed work at most */
#define MAX_RATE_MIB_S 4096u
#define MAX_SET_MIB 4096u

static volatile sig_atomic_t stopping;

static uint64_t now_ns(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000ull + (uint64_t) ts.tv_nsec;
}

static int parse_mib(const char *s, unsigned max, unsigned *ret) {
        char *end;
        unsigned long v;

        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v > max)
                return -EINVAL;
        *ret = (unsigned) v;
        return 0;
}

/* The pid of the running dirty, or 0: the pid file must name a live process called dirty. */
static pid_t running_pid(void) {
        char path[64], comm[32] = "";
        FILE *f;
        long pid = 0;

        f = fopen(PID_FILE, "re");
        if (!f)
                return 0;
        if (fscanf(f, "%ld", &pid) != 1)
                pid = 0;
        fclose(f);
        if (pid <= 1)
                return 0;
        snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
        f = fopen(path, "re");
        if (!f)
                return 0;
        if (!fgets(comm, sizeof(comm), f))
                comm[0] = '\0';
        fclose(f);
        comm[strcspn(comm, "\n")] = '\0';
        return strcmp(comm, "dirty") == 0 ? (pid_t) pid : 0;
}

static int stop_running(void) {
        pid_t pid = running_pid();

        if (pid == 0)
                return 0;
        if (kill(pid, SIGTERM) < 0 && errno != ESRCH)
                return -errno;
        /* up to 5 s for it to go */
        for (int i = 0; i < 500 && kill(pid, 0) == 0; i++)
                usleep(10000);
        if (kill(pid, 0) == 0)
                return -ETIMEDOUT;
        unlink(PID_FILE);
        unlink(STATUS_FILE);
        return 0;
}

static void on_term(int sig) {
        (void) sig;
        stopping = 1;
}

static void write_status(unsigned rate, unsigned set_mib, uint64_t start_ns, uint64_t pages,
                         uint64_t passes) {
        double elapsed = (double) (now_ns() - start_ns) / 1e9;
        FILE *f = fopen(STATUS_FILE ".new", "we");

        if (!f)
                return;
        fprintf(f, "pid=%ld asked_mib_s=%u working_set_mib=%u elapsed_s=%.1f pages=%" PRIu64
                   " passes=%" PRIu64 " achieved_mib_s=%.2f\n",
                (long) getpid(), rate, set_mib, elapsed, pages, passes,
                elapsed > 0 ? (double) pages / PAGES_PER_MIB / elapsed : 0.0);
        if (fclose(f) == 0)
                rename(STATUS_FILE ".new", STATUS_FILE);
}

/* The detached child: dirty the n_pages at mem until told to stop. Each round adds the time
 * since the last one (at most 100 ms of it) times the rate to the pages due, writes them, and
 * sleeps to the next 10 ms tick. */
static void run(uint8_t *mem, size_t n_pages, unsigned rate, unsigned set_mib) {
        const double pages_per_ns = (double) rate * PAGES_PER_MIB / 1e9;
        uint64_t start = now_ns(), last = start, next_tick = start + TICK_NS, next_status = start;
        uint64_t pages = 0, passes = 0;
        double due = 0;
        size_t cursor = 0;

        while (!stopping) {
                uint64_t t = now_ns(), span = t - last;

                last = t;
                due += (double) (span > MAX_CATCH_UP_NS ? MAX_CATCH_UP_NS : span) * pages_per_ns;
                for (; due >= 1.0; due -= 1.0) {
                        /* a different cache line each pass, so no write repeats the last one */
                        mem[cursor * PAGE_BYTES + (passes % (PAGE_BYTES / 64)) * 64]++;
                        pages++;
                        if (++cursor == n_pages) {
                                cursor = 0;
                                passes++;
                        }
                }
                if (t >= next_status) {
                        write_status(rate, set_mib, start, pages, passes);
                        next_status = t + 1000000000ull;
                }
                t = now_ns();
                if (next_tick > t) {
                        struct timespec ts = { .tv_sec = 0, .tv_nsec = (long) (next_tick - t) };
                        nanosleep(&ts, NULL);
                        next_tick += TICK_NS;
                } else
                        next_tick = t + TICK_NS;
        }
}

static int start_detached(unsigned rate, unsigned set_mib) {
        int ready[2], fd;
        size_t n_pages;
        uint8_t *mem;
        char c;
        pid_t pid;

        if (pipe2(ready, O_CLOEXEC) < 0)
                return -errno;
        pid = fork();
        if (pid < 0) {
                int r = -errno;

                close(ready[0]);
                close(ready[1]);
                return r;
        }
        if (pid > 0) {
                ssize_t n;

                close(ready[1]);
                /* the child says it holds its memory (or dies trying) */
                do
                        n = read(ready[0], &c, 1);
                while (n < 0 && errno == EINTR);
                close(ready[0]);
                return n == 1 ? (int) pid : -ENOMEM;
        }

        /* child: its own session, stdio off the agent's pipes (the agent waits for them) */
        close(ready[0]);
        setsid();
        fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (fd >= 0) {
                dup2(fd, 0);
                dup2(fd, 1);
                dup2(fd, 2);
                close(fd);
        }
        signal(SIGTERM, on_term);
        signal(SIGINT, on_term);
        signal(SIGHUP, SIG_IGN);
        fd = open(PID_FILE ".new", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd >= 0) {
                dprintf(fd, "%ld\n", (long) getpid());
                close(fd);
                rename(PID_FILE ".new", PID_FILE);
        }
        n_pages = (size_t) set_mib * PAGES_PER_MIB;
        mem = mmap(NULL, n_pages * PAGE_BYTES, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
        if (mem == MAP_FAILED) {
                unlink(PID_FILE);
                _exit(1);
        }
        /* the parent returns once the memory is in */
        if (write(ready[1], "", 1) != 1)
                _exit(1);
        close(ready[1]);
        run(mem, n_pages, rate, set_mib);
        unlink(PID_FILE);
        unlink(STATUS_FILE);
        _exit(0);
}

static int print_status(void) {
        char line[512];
        FILE *f;

        if (running_pid() == 0) {
                printf("not running\n");
                return 0;
        }
        f = fopen(STATUS_FILE, "re");
        if (!f || !fgets(line, sizeof(line), f)) {
                if (f)
                        fclose(f);
                printf("running, no status yet\n");
                return 0;
        }
        fclose(f);
        fputs(line, stdout);
        return 0;
}

int main(int argc, char **argv) {
        unsigned rate, set_mib;
        int r;

        if (argc == 2 && strcmp(argv[1], "status") == 0)
                return print_status();
        if (argc != 3 || parse_mib(argv[1], MAX_RATE_MIB_S, &rate) < 0 ||
            parse_mib(argv[2], MAX_SET_MIB, &set_mib) < 0) {
                fprintf(stderr, "usage: dirty MIB_PER_S WORKING_SET_MIB   (each 0-4096; 0 0 stops it)\n"
                                "       dirty status\n");
                return 2;
        }
        if ((rate == 0) != (set_mib == 0)) {
                fprintf(stderr, "dirty: a rate needs a working set and a working set a rate (0 0 stops it)\n");
                return 2;
        }
        r = stop_running();
        if (r < 0) {
                fprintf(stderr, "dirty: could not stop the running one: %s\n", strerror(-r));
                return 1;
        }
        if (rate == 0) {
                printf("dirty: stopped\n");
                return 0;
        }
        r = start_detached(rate, set_mib);
        if (r < 0) {
                fprintf(stderr, "dirty: could not start: %s\n", strerror(-r));
                return 1;
        }
        printf("dirty: pid %d rewrites %u MiB/s over %u MiB\n", r, rate, set_mib);
        return 0;
}
