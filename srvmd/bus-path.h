/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The path of a job's D-Bus object, and back. */
#pragma once

#include <stdint.h>

#include "config.h"
#include "macro.h"

#define BUS_JOB_PREFIX SRVM_BUS_PATH "/job"

/* "/org/srvm/srvm1/job/7" <-> 7. */
int bus_job_path(uint32_t id, char **ret);
int bus_job_id_from_path(const char *path, uint32_t *ret);
