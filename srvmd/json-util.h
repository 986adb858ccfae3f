/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* json-c glue: scope-bound release of objects, and adding a fresh value to an object or an
 * array so that it is released if the add fails (json-c leaves it to the caller then). */
#pragma once

#include <errno.h>

#include <json-c/json.h>

static inline void json_object_putp(json_object **o) {
        json_object_put(*o); /* accepts NULL */
}

/* Add v (which may be NULL from a failed allocation) under key; -ENOMEM if either failed. */
static inline int json_add(json_object *o, const char *key, json_object *v) {
        if (!v)
                return -ENOMEM;
        if (json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

static inline int json_append(json_object *array, json_object *v) {
        if (!v)
                return -ENOMEM;
        if (json_object_array_add(array, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}
