/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The errand pool against a fake reader on a fake clock: callers of one key share one read
 * and get its answer in the order they came; a result serves again until it expires, an
 * error never does; at most max_running reads run, max_queued wait, and past that (or past
 * max_waiters callers) a request is refused with -EBUSY; a queued read starts when a slot
 * frees, oldest first. */
#include <stdio.h>

#include "assert.h"
#include "errand.h"
#include "macro.h"

typedef struct Read {
        char key[32];
        ErrandDoneFn done;
        void *done_userdata;
        bool answered;
} Read;

typedef struct Fake {
        usec_t now;
        Read reads[32];
        size_t n_reads;
        int fail_start; /* run() returns this when < 0 */
} Fake;

typedef struct Answer {
        char log[512]; /* "caller=text " or "caller!error " per answer, in order */
} Answer;

static int fake_run(void *userdata, const char *key, ErrandDoneFn done, void *done_userdata) {
        Fake *f = userdata;

        if (f->fail_start < 0)
                return f->fail_start;
        ASSERT_TRUE(f->n_reads < ELEMENTSOF(f->reads));
        f->reads[f->n_reads] = (Read) { .done = done, .done_userdata = done_userdata };
        snprintf(f->reads[f->n_reads].key, sizeof f->reads[0].key, "%s", key);
        f->n_reads++;
        return 0;
}

static usec_t fake_now(void *userdata) {
        return ((Fake *) userdata)->now;
}

/* Answer the i-th read started. */
static void finish(Fake *f, size_t i, const char *text, const char *error) {
        ASSERT_TRUE(i < f->n_reads);
        ASSERT_TRUE(!f->reads[i].answered);
        f->reads[i].answered = true;
        f->reads[i].done(f->reads[i].done_userdata, text, error);
}

static Answer answers;

static void on_answer(void *userdata, const char *text, const char *error) {
        char buf[96];

        snprintf(buf, sizeof buf, "%s%s%s ", (const char *) userdata, text ? "=" : "!", text ? text : error);
        strncat(answers.log, buf, sizeof answers.log - strlen(answers.log) - 1);
}

static ErrandPool *pool_new(Fake *f, unsigned running, unsigned queued, unsigned waiters) {
        ErrandPool *p = NULL;

        *f = (Fake) { .now = 1000 * USEC_PER_SEC };
        answers = (Answer) {};
        ASSERT_OK(errand_pool_new(&(ErrandPoolConfig) {
                                          .max_running = running,
                                          .max_queued = queued,
                                          .max_waiters = waiters,
                                          .result_ttl = USEC_PER_SEC,
                                          .run = fake_run,
                                          .now = fake_now,
                                          .userdata = f,
                                  }, &p));
        return p;
}

static void test_share_and_reuse(void) {
        Fake f;
        _cleanup_(errand_pool_freep) ErrandPool *p = pool_new(&f, 3, 16, 256);

        ASSERT_OK(errand_pool_request(p, "domains", on_answer, "a"));
        ASSERT_OK(errand_pool_request(p, "domains", on_answer, "b"));
        ASSERT_OK(errand_pool_request(p, "vfs", on_answer, "c"));
        ASSERT_OK(errand_pool_request(p, "domains", on_answer, "d"));
        ASSERT_EQ_INT(f.n_reads, 2);
        ASSERT_STREQ(f.reads[0].key, "domains");
        ASSERT_STREQ(f.reads[1].key, "vfs");
        ASSERT_EQ_INT(errand_pool_n_running(p), 2);
        ASSERT_STREQ(answers.log, "");

        finish(&f, 0, "[1]", NULL);
        ASSERT_STREQ(answers.log, "a=[1] b=[1] d=[1] ");
        ASSERT_EQ_INT(errand_pool_n_running(p), 1);

        /* Fresh still: answered at once, no new read. */
        answers = (Answer) {};
        f.now += USEC_PER_SEC - 1;
        ASSERT_OK(errand_pool_request(p, "domains", on_answer, "e"));
        ASSERT_STREQ(answers.log, "e=[1] ");
        ASSERT_EQ_INT(f.n_reads, 2);

        /* Expired: read again. */
        answers = (Answer) {};
        f.now += 1;
        ASSERT_OK(errand_pool_request(p, "domains", on_answer, "f"));
        ASSERT_STREQ(answers.log, "");
        ASSERT_EQ_INT(f.n_reads, 3);
        finish(&f, 2, "[2]", NULL);
        ASSERT_STREQ(answers.log, "f=[2] ");

        /* An error goes to every waiter and is not kept. */
        answers = (Answer) {};
        finish(&f, 1, NULL, "cannot read the host's links");
        ASSERT_STREQ(answers.log, "c!cannot read the host's links ");
        ASSERT_OK(errand_pool_request(p, "vfs", on_answer, "g"));
        ASSERT_EQ_INT(f.n_reads, 4);
        finish(&f, 3, "{}", NULL);
        ASSERT_EQ_INT(errand_pool_n_started(p), 4);
        ASSERT_EQ_INT(errand_pool_n_running(p), 0);
}

static void test_limits(void) {
        Fake f;
        _cleanup_(errand_pool_freep) ErrandPool *p = pool_new(&f, 2, 2, 6);

        ASSERT_OK(errand_pool_request(p, "xml:a", on_answer, "1"));
        ASSERT_OK(errand_pool_request(p, "xml:b", on_answer, "2"));
        ASSERT_OK(errand_pool_request(p, "xml:c", on_answer, "3"));
        ASSERT_OK(errand_pool_request(p, "xml:d", on_answer, "4"));
        ASSERT_EQ_INT(f.n_reads, 2);
        ASSERT_EQ_INT(errand_pool_n_running(p), 2);
        ASSERT_EQ_INT(errand_pool_n_queued(p), 2);
        /* A fifth key: no slot, no room in the queue. */
        ASSERT_ERR(errand_pool_request(p, "xml:e", on_answer, "5"), EBUSY);
        /* A key already queued or running is shared, within the waiters' bound. */
        ASSERT_OK(errand_pool_request(p, "xml:c", on_answer, "6"));
        ASSERT_OK(errand_pool_request(p, "xml:a", on_answer, "7"));
        ASSERT_ERR(errand_pool_request(p, "xml:a", on_answer, "8"), EBUSY);

        /* A slot frees: the oldest queued read starts. */
        finish(&f, 0, "A", NULL);
        ASSERT_STREQ(answers.log, "1=A 7=A ");
        ASSERT_EQ_INT(f.n_reads, 3);
        ASSERT_STREQ(f.reads[2].key, "xml:c");
        ASSERT_EQ_INT(errand_pool_n_queued(p), 1);
        ASSERT_OK(errand_pool_request(p, "xml:e", on_answer, "5"));
        ASSERT_EQ_INT(errand_pool_n_queued(p), 2);

        finish(&f, 1, NULL, "there is no domain 'b' on this host");
        finish(&f, 2, "C", NULL);
        ASSERT_EQ_INT(f.n_reads, 5);
        finish(&f, 3, "D", NULL);
        finish(&f, 4, "E", NULL);
        ASSERT_STREQ(answers.log, "1=A 7=A 2!there is no domain 'b' on this host 3=C 6=C 4=D 5=E ");
        ASSERT_EQ_INT(errand_pool_n_running(p), 0);
        ASSERT_EQ_INT(errand_pool_n_queued(p), 0);
}

/* A read that cannot start: the caller hears the error, nothing is left behind; a queued
 * one that cannot start answers its waiters with a sentence. */
static void test_start_fails(void) {
        Fake f;
        _cleanup_(errand_pool_freep) ErrandPool *p = pool_new(&f, 1, 4, 16);

        f.fail_start = -ENOTCONN;
        ASSERT_ERR(errand_pool_request(p, "vfs", on_answer, "a"), ENOTCONN);
        ASSERT_EQ_INT(errand_pool_n_running(p), 0);
        f.fail_start = 0;
        ASSERT_OK(errand_pool_request(p, "vfs", on_answer, "b"));
        ASSERT_OK(errand_pool_request(p, "domains", on_answer, "c"));
        ASSERT_EQ_INT(errand_pool_n_queued(p), 1);
        f.fail_start = -ENOTCONN;
        finish(&f, 0, "V", NULL);
        ASSERT_STREQ(answers.log, "b=V c!the read could not be started ");
        ASSERT_EQ_INT(errand_pool_n_running(p), 0);
        ASSERT_EQ_INT(errand_pool_n_queued(p), 0);
}

/* Freed with callers waiting: nothing is called, nothing leaks (valgrind, ASan). */
static void test_free_pending(void) {
        Fake f;
        ErrandPool *p = pool_new(&f, 1, 4, 16);

        ASSERT_OK(errand_pool_request(p, "vfs", on_answer, "a"));
        ASSERT_OK(errand_pool_request(p, "domains", on_answer, "b"));
        errand_pool_free(p);
        ASSERT_STREQ(answers.log, "");
        ASSERT_ERR(errand_pool_new(&(ErrandPoolConfig) { .max_running = 0, .run = fake_run, .now = fake_now },
                                   &p), EINVAL);
}

int main(void) {
        test_share_and_reuse();
        test_limits();
        test_start_fails();
        test_free_pending();
        printf("test-errand: all passed\n");
        return 0;
}
