/* json-c glue: scope-bound release of objects. */
#pragma once

#include <json-c/json.h>

static inline void json_object_putp(json_object **o) {
        json_object_put(*o); /* accepts NULL */
}
