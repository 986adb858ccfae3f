/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* utf8_escape(): what text from a guest or libvirt becomes before srvmd keeps, logs or sends
 * it. Table-driven: each line an input, a cap and the exact output. */
#include <stdio.h>

#include "assert.h"
#include "log.h"
#include "macro.h"
#include "utf8.h"

static void test_escape_table(void) {
        static const struct {
                const char *in;
                size_t max;
                const char *out;
        } cases[] = {
                { "plain ascii", 0, "plain ascii" },
                { "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xa7", 0, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xa7" },
                { "bond0 is down\n<0>FORGED", 0, "bond0 is down\\n<0>FORGED" },
                { "\x1b[2J\x1b[31mred", 0, "\\x1b[2J\\x1b[31mred" },
                { "a\rb\tc\x7f\x01", 0, "a\\rb\\tc\\x7f\\x01" },
                { "C1 \xc2\x9b" "2J", 0, "C1 \\u009b2J" },                  /* CSI as one code point */
                { "line\xe2\x80\xa8sep\xe2\x80\xa9", 0, "line\\u2028sep\\u2029" },
                { "bidi \xe2\x80\xae" "evil\xe2\x81\xa6", 0, "bidi \\u202eevil\\u2066" },
                { "bad \xff\xfe end", 0, "bad \\xff\\xfe end" },
                { "cut \xc3", 0, "cut \\xc3" },
                { "overlong \xc0\xaf", 0, "overlong \\xc0\\xaf" },
                { "surrogate \xed\xa0\x80", 0, "surrogate \\xed\\xa0\\x80" },
                { "back\\slash \\x1b stays", 0, "back\\slash \\x1b stays" },
                { "", 0, "" },
                { "0123456789", 10, "0123456789" },
                { "0123456789a", 10, "0123456789 [... 1 bytes cut]" },
                { "01234567\n9", 9, "01234567 [... 2 bytes cut]" },     /* an escape is not split */
                { "0123456\xc3\xa9", 8, "0123456 [... 2 bytes cut]" },  /* nor a character */
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *e = utf8_escape(cases[i].in, cases[i].max);
                _cleanup_free_ char *twice = NULL;

                ASSERT_STREQ(e, cases[i].out);
                ASSERT_TRUE(utf8_is_escaped(e));
                if (cases[i].max == 0)
                        ASSERT_TRUE(utf8_is_escaped(cases[i].in) == streq(cases[i].in, cases[i].out));
                /* Escaping what is escaped changes nothing: srvmctl does it again. */
                twice = utf8_escape(e, 0);
                ASSERT_STREQ(twice, e);
        }
        ASSERT_NULL(utf8_escape(NULL, 0));
}

/* Megabytes in, a few KiB out, in one pass. */
static void test_escape_big(void) {
        size_t n = 8 * 1024 * 1024;
        _cleanup_free_ char *big = malloc(n + 1), *e = NULL;

        ASSERT_NOT_NULL(big);
        for (size_t i = 0; i < n; i++)
                big[i] = "\x1b\nab"[i % 4];
        big[n] = '\0';
        e = utf8_escape(big, 4096);
        ASSERT_NOT_NULL(e);
        ASSERT_TRUE(strlen(e) <= 4096 + 40);
        ASSERT_TRUE(utf8_is_escaped(e));
        ASSERT_NOT_NULL(strstr(e, " [... "));
        ASSERT_TRUE(strncmp(e, "\\x1b\\nab\\x1b\\nab", 16) == 0);
}

/* srvmd's log: one line per message, whatever the message carries. */
static void test_log_line(void) {
        char buf[256] = {};
        FILE *f = tmpfile();
        int saved = dup(STDERR_FILENO);

        ASSERT_NOT_NULL(f);
        ASSERT_TRUE(saved >= 0);
        fflush(stderr);
        ASSERT_TRUE(dup2(fileno(f), STDERR_FILENO) >= 0);
        log_set_prefix_priority(true);
        log_warning("vm1: guest said %s", "down\n<0>FORGED \x1b[2J");
        log_set_prefix_priority(false);
        fflush(stderr);
        ASSERT_TRUE(dup2(saved, STDERR_FILENO) >= 0);
        close(saved);
        rewind(f);
        ASSERT_TRUE(fread(buf, 1, sizeof buf - 1, f) > 0);
        fclose(f);
        ASSERT_STREQ(buf, "<4>vm1: guest said down\\n<0>FORGED \\x1b[2J\n");
}

int main(void) {
        test_log_line();
        test_escape_table();
        test_escape_big();
        printf("test-utf8: all passed\n");
        return 0;
}
