/* lamina info — version, CPU, kernels, threads, plugins and layer types. */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "tools/cli/cli.h"
#include <lamina/plugin.h>
#include <sched.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

static const char info_help[] =
    "Usage: lamina info [--plugin P.so]...\n"
    "Print the lamina version, the CPU and its SIMD features, the kernel ISA in\n"
    "use, the thread count, whether this lamina has MPI (lamina run --mpi), the\n"
    "plugin search path with the plugins found there, and every registered layer\n"
    "type.\n"
    "\n"
    "  -p, --plugin P.so        load a plugin first (its types are listed)\n"
    "  -t, --threads N          the thread count to report\n"
    "  -h, --help               show this help\n";

/* Where the thread count comes from, in the library's order of precedence
 * (lam_set_num_threads: --threads here; LAMINA_NUM_THREADS; OMP_NUM_THREADS;
 * the CPUs this process may run on).  A count other than that source's is
 * a serial build's 1. */
static void threads_source(const cli_common *c, int threads, char *buf, size_t size)
{
    static const char *const vars[] = {"LAMINA_NUM_THREADS", "OMP_NUM_THREADS"};
    long want = 0;
    if (c->threads > 0) {
        want = c->threads;
        snprintf(buf, size, "--threads");
    }
    for (size_t i = 0; !want && i < sizeof vars / sizeof *vars; i++) {
        const char *v = getenv(vars[i]);
        char *end = NULL;
        long n = v ? strtol(v, &end, 10) : 0;
        /* as the library reads it: a count in 1..4096, OMP_NUM_THREADS's first of a list */
        if (v && end != v && (!*end || *end == ',') && n >= 1 && n <= 4096) {
            want = n;
            snprintf(buf, size, "%s", vars[i]);
        }
    }
    if (!want) {
        long online = sysconf(_SC_NPROCESSORS_ONLN);
        cpu_set_t set;
        if (sched_getaffinity(0, sizeof set, &set) == 0) {
            want = CPU_COUNT(&set);
            snprintf(buf, size, "the CPUs this process may run on: %ld of %ld online", want, online);
        } else {
            want = online;
            snprintf(buf, size, "the online CPUs: %ld", online);
        }
    }
    if (threads == 1 && want > 1)
        snprintf(buf, size, "this lamina runs serially: built without OpenMP");
}

/* "model name" (x86) / "CPU part"-less ARM: first matching key's value */
static void cpuinfo(char *model, size_t msize, char *flags, size_t fsize)
{
    snprintf(model, msize, "unknown");
    flags[0] = '\0';
    FILE *fp = fopen("/proc/cpuinfo", "re");
    if (!fp)
        return;
    char line[8192];
    bool have_model = false, have_flags = false;
    while (fgets(line, sizeof line, fp) && !(have_model && have_flags)) {
        char *colon = strchr(line, ':');
        if (!colon)
            continue;
        char *v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        v[strcspn(v, "\n")] = '\0';
        size_t klen = (size_t)(colon - line);
        while (klen && (line[klen - 1] == ' ' || line[klen - 1] == '\t'))
            klen--;
        line[klen] = '\0';
        if (!have_model && (!strcmp(line, "model name") || !strcmp(line, "Model") ||
                            !strcmp(line, "Hardware"))) {
            snprintf(model, msize, "%s", v);
            have_model = true;
        } else if (!have_flags && (!strcmp(line, "flags") || !strcmp(line, "Features"))) {
            snprintf(flags, fsize, " %s ", v);
            have_flags = true;
        }
    }
    fclose(fp);
}

static bool has_flag(const char *flags, const char *f)
{
    char key[32];
    snprintf(key, sizeof key, " %s ", f);
    return strstr(flags, key) != NULL;
}

int cmd_info(int argc, char **argv)
{
    static const struct option opts[] = {
        {"plugin", required_argument, NULL, OPT_PLUGIN},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    cli_common c = {.strict = 1};
    int rc = cli_parse_args(argc, argv, "info", info_help, ":p:t:h", opts, &c, NULL, NULL, NULL);
    if (rc != CLI_CONTINUE)
        goto out;
    if (c.threads > 0)
        lam_set_num_threads(c.threads);
    if ((rc = cli_load_plugins(&c)) != 0)
        goto out;

    char model[256], flags[4096];
    cpuinfo(model, sizeof model, flags, sizeof flags);
    printf("lamina %s\n", lam_version());
    printf("cpu:          %s\n", model);
    printf("cpu features:");
    static const char *const feats[] = {"sse4_2",   "avx",      "avx2",     "fma",
                                        "f16c",     "avx512f",  "avx512vl", "avx512bw",
                                        "avx512dq", "asimd",    "fphp",     "sve"};
    bool any = false;
    for (size_t i = 0; i < sizeof feats / sizeof *feats; i++)
        if (has_flag(flags, feats[i])) {
            printf(" %s", !strcmp(feats[i], "asimd") ? "neon(asimd)" : feats[i]);
            any = true;
        }
    printf("%s\n", any ? "" : " (none of interest found)");
    printf("kernel isa:   %s%s\n", lam_kernel_isa(),
           getenv("LAMINA_MAX_ISA") ? " (capped by LAMINA_MAX_ISA)" : "");
    char why[128];
    threads_source(&c, lam_get_num_threads(), why, sizeof why);
    printf("threads:      %d (%s)\n", lam_get_num_threads(), why);
#ifdef LAM_HAVE_MPI
    char mpi[256];
    cli_mpi_library(mpi, sizeof mpi);
    printf("mpi:          yes, %s (lamina run --mpi, liblamina-mpi)\n", mpi);
#else
    printf("mpi:          no (%s)\n", LAM_MPI_WHY);
#endif
    rc = cli_print_plugins(stdout);
    printf("layer types:");
    for (size_t i = 0; lam_layer_type_name(i); i++) {
        const char *t = lam_layer_type_name(i);
        lam_plugin *p = lam_layer_type_plugin(t);
        printf("\n  %-18s ", t);
        cli_print_text(stdout, p ? lam_plugin_name(p) : "built-in");
    }
    printf("\n");
out:
    cli_common_free(&c);
    return rc;
}
