/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Policies: what srvm does for a domain, read from JSON files (see srvm-policy(5)). A policy
 * names the guest's bond and VF, the VF to plug on the destination, a time budget per phase,
 * the migration and convergence settings, and how often to retry the destination's phases.
 * A policy set is every policy file of the policy directories, loaded all at once or not at
 * all; resolving picks the most specific policy for a domain, the default one if none other
 * matches. Pure code over json-c and fnmatch(): the caller reads the domain's name, UUID and
 * metadata and passes them in. Nothing here logs; errors come back as a negative errno and
 * one sentence that names the file and the JSON path. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "config.h" /* SRVM_POLICY_DATA_DIR, from the build's prefix */
#include "macro.h"
#include "migration.h"

/* Where policies live, highest priority first: a file in an earlier directory overrides the
 * file of the same name in a later one. NULL-terminated, for policy_set_load(). */
#define POLICY_ADMIN_DIR "/etc/srvm/policies.d"
extern const char *const policy_dirs_default[];

/* The policy that matches every domain no other policy matches: default.json, or the
 * built-in one (the same values) if no directory holds that file. */
#define POLICY_DEFAULT_NAME "default"

typedef struct Policy Policy;
typedef struct PolicySet PolicySet;


/* One element of the domain's libvirt <metadata>, as the caller extracted it: every element
 * under <metadata>, at any depth, with its namespace URI, its local name and its text
 * content with surrounding white space removed (NULL or "" if it has none). */
typedef struct PolicyMetadata {
        const char *namespace_uri;
        const char *element;
        const char *value;
} PolicyMetadata;

/* What resolution knows of a domain. All borrowed; uuid and metadata may be NULL. */
typedef struct PolicyDomainInfo {
        const char *name;
        const char *uuid; /* 36 characters, any case */
        const PolicyMetadata *metadata;
        size_t n_metadata;
} PolicyDomainInfo;


/* How a destination phase (plug, link, failback) is retried before the domain is left on
 * its virtio-net standby. */
typedef struct PolicyRetry {
        unsigned retries; /* attempts after the first */
        usec_t backoff;   /* before the first retry; doubled before each next one */
} PolicyRetry;

/* One policy file. On failure returns a negative errno and, if ret_error is not NULL, one
 * sentence naming the file (and the JSON path) in *ret_error, to be freed:
 *   -ENOENT, -EACCES, ...  the file could not be read
 *   -EFBIG                  the file is larger than a policy can be
 *   -EBADMSG                not valid JSON
 *   -EINVAL                 valid JSON, but not a valid policy
 * The policy's name is the file's name without ".json". */
int policy_parse_file(const char *path, Policy **ret, char **ret_error);
/* The built-in default policy. */
int policy_new_default(Policy **ret);
Policy *policy_free(Policy *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(Policy *, policy_free);

const char *policy_get_name(const Policy *p);
const char *policy_get_path(const Policy *p); /* NULL for the built-in default */
const char *policy_get_description(const Policy *p); /* NULL if none */
bool policy_is_default(const Policy *p);
const char *policy_get_bond(const Policy *p);
const char *policy_get_vf(const Policy *p); /* alias or MAC; NULL: found automatically */
PolicyPlugSource policy_get_plug_source(const Policy *p);
const char *policy_get_plug_network(const Policy *p);  /* NULL unless source is network */
const char *policy_get_plug_model(const Policy *p);    /* NULL: libvirt's choice */
const char *policy_get_plug_template(const Policy *p); /* NULL unless source is template */
usec_t policy_get_phase_budget(const Policy *p, Phase phase);
usec_t policy_get_agent_timeout(const Policy *p);
const PolicyMigrationSettings *policy_get_migration(const Policy *p);
const PolicyConvergence *policy_get_convergence(const Policy *p);
/* The retry rule of plug, link or failback; -EINVAL for the other phases. A rollback phase
 * on the source follows the rule of its destination phase. */
int policy_get_retry(const Policy *p, Phase phase, PolicyRetry *ret);

/* The wait before retry number attempt (1 is the first retry), backoff doubled each time and
 * capped at POLICY_RETRY_DELAY_MAX; 0 for attempt 0. */
#define POLICY_RETRY_DELAY_MAX (600 * USEC_PER_SEC)
usec_t policy_retry_delay(const PolicyRetry *r, unsigned attempt);

/* Called after each pre-copy iteration that did not converge; iteration counts them from 1
 * and current_downtime_ms is the max downtime in force. raise-downtime acts after every
 * after_iterations iterations until the ceiling is reached; postcopy and abort act once
 * after_iterations is reached. *ret_downtime_ms (may be NULL) gets the new max downtime
 * for POLICY_STEP_RAISE_DOWNTIME and is untouched otherwise. */
PolicyConvergenceStep policy_decide_convergence(const Policy *p, unsigned iteration,
                                                uint64_t current_downtime_ms,
                                                uint64_t *ret_downtime_ms);
/* The same decision over a copy of the rule, for a job that must not depend on the policy
 * set in force (a reload may replace it while the job runs). */
PolicyConvergenceStep policy_convergence_decide(const PolicyConvergence *c, unsigned iteration,
                                                uint64_t current_downtime_ms,
                                                uint64_t *ret_downtime_ms);

/* The <interface> XML to attach on the destination. recorded_xml is the VF's element as
 * preflight recorded it (needed for the recorded source, returned as is: the caller strips
 * what libvirt assigns per host); mac and alias are the VF's (the network source and the
 * template's placeholders need them). -ENODATA if something needed is NULL, -EINVAL if mac
 * or alias do not look like one. */
int policy_make_plug_xml(const Policy *p, const char *recorded_xml, const char *mac,
                         const char *alias, char **ret);

/* Fill the job's parameters from the policy: bond, vf, and every phase budget. The strings
 * are borrowed from p (migration_new() copies them). */
void policy_apply_to_params(const Policy *p, MigrationParams *params);

/* The effective policy as a policy file would say it, with every default filled in (what
 * `srvmctl policy show` prints). Parsing it again gives the same policy. */
int policy_to_json(const Policy *p, json_object **ret);

/* Load every *.json file of dirs (NULL-terminated, highest priority first; a directory that
 * does not exist is skipped). All or nothing: on any error nothing is returned but the error
 * of the first bad file, as policy_parse_file() gives it. The policies are kept in the order
 * of their names. */
int policy_set_load(const char *const *dirs, PolicySet **ret, char **ret_error);
PolicySet *policy_set_free(PolicySet *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(PolicySet *, policy_set_free);

size_t policy_set_size(const PolicySet *s);
/* The default policy's .host.max_migrations: migrations srvmd runs at once; 0 if not given. */
#define POLICY_MAX_MIGRATIONS_MAX 1024
unsigned policy_set_get_max_migrations(const PolicySet *s);
/* By index (name order; the default policy included) or name; NULL if none. */
const Policy *policy_set_get(const PolicySet *s, size_t i);
const Policy *policy_set_get_by_name(const PolicySet *s, const char *name);

/* The policy for a domain: the one whose best match is the most specific (uuid, then
 * metadata, then exact name, then glob). Ties: a metadata match that checks the value beats
 * one that does not, a glob with a longer literal prefix beats a shorter one, then the policy
 * whose name sorts first wins. Never NULL: the default policy matches everything.
 * ret_kind (may be NULL) says how it matched. */
const Policy *policy_set_resolve(const PolicySet *s, const PolicyDomainInfo *d,
                                 PolicyMatchKind *ret_kind);

const char *policy_match_kind_to_string(PolicyMatchKind k);
PolicyMatchKind policy_match_kind_from_string(const char *s);
const char *policy_plug_source_to_string(PolicyPlugSource s);
PolicyPlugSource policy_plug_source_from_string(const char *s);
const char *policy_convergence_action_to_string(PolicyConvergenceAction a);
PolicyConvergenceAction policy_convergence_action_from_string(const char *s);
const char *policy_migration_path_to_string(PolicyMigrationPath p);
PolicyMigrationPath policy_migration_path_from_string(const char *s);
const char *policy_convergence_step_to_string(PolicyConvergenceStep s);
const char *policy_compression_to_string(PolicyCompression c);
PolicyCompression policy_compression_from_string(const char *s);
PolicyConvergenceStep policy_convergence_step_from_string(const char *s);
