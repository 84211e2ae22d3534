/* lamina command — plugins: loading --plugin arguments, listing the search path. */
#include "tools/cli/cli.h"
#include <lamina/plugin.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int cli_load_plugins(const cli_common *c)
{
    for (int i = 0; i < c->n_plugins; i++) {
        lam_status st = lam_plugin_load(c->plugins[i], NULL);
        if (st)
            return cli_fail_status(st, NULL);
    }
    return CLI_OK;
}

/* Lists the search path, loads every plugin of every directory there
 * (failures are listed, not fatal), then lists what is loaded. */
int cli_print_plugins(FILE *fp)
{
    char *path = lam_plugin_search_path();
    if (!path)
        return cli_fail("out of memory");
    fprintf(fp, "plugin path:%s\n", *path ? "" : "  (empty)");
    for (char *dir = path, *end; dir && *dir; dir = end ? end + 1 : NULL) {
        end = strchr(dir, ':');
        if (end)
            *end = '\0';
        if (!*dir)
            continue;
        struct stat sb;
        bool present = stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode);
        /* paths, plugin strings and messages quoting them are escaped:
         * whatever a plugin or a file name holds must not drive the terminal */
        fputs("  ", fp);
        cli_print_text(fp, dir);
        fprintf(fp, "%s\n", present ? "" : "  (not there)");
        if (present && lam_plugin_load_dir(dir, NULL) != LAM_OK) {
            fputs("    not loaded: ", fp);
            cli_print_text(fp, lam_last_error());
            fputc('\n', fp);
        }
    }
    lam_free(path);
    fprintf(fp, "plugins:%s\n", lam_plugin_at(0) ? "" : "      (none loaded)");
    for (size_t i = 0; lam_plugin_at(i); i++) {
        lam_plugin *p = lam_plugin_at(i);
        fputs("  ", fp);
        cli_print_text(fp, lam_plugin_name(p));
        fputc(' ', fp);
        cli_print_text(fp, lam_plugin_version(p));
        fputs("  ", fp);
        cli_print_text(fp, lam_plugin_path(p));
        fputc('\n', fp);
        if (lam_plugin_description(p)) {
            fputs("    ", fp);
            cli_print_text(fp, lam_plugin_description(p));
            fputc('\n', fp);
        }
        fprintf(fp, "    types:");
        for (size_t k = 0; k < lam_plugin_num_types(p); k++) {
            fputs(k ? ", " : " ", fp);
            cli_print_text(fp, lam_plugin_type_name(p, k));
        }
        fputc('\n', fp);
    }
    return CLI_OK;
}
