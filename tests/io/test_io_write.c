/* Saving over what is at a path (issue 12): a regular file is replaced
 * atomically and keeps its mode (and owner); a symlink is followed and
 * stays a symlink; a FIFO, a device, a hard-linked file and the descriptor
 * aliases (/dev/stdout, /dev/fd/N) are written in place; a directory fails.
 * The expected bytes are a save to a fresh path (whose bytes the npy tests
 * compare with np.save's). */
#include "config.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "iotest.h"

static lam_tensor *sample;
static unsigned char *want;
static size_t want_len;
static char path[1024], other[1024];

static void setup(void)
{
    int64_t shape[2] = {2, 3};
    cr_assert_eq(lam_tensor_create(&sample, 2, shape), LAM_OK);
    for (int64_t i = 0; i < 6; i++)
        lam_tensor_data(sample)[i] = io_pattern(i);
    cr_assert_eq(lam_npy_save(io_tmp("reference.npy"), sample), LAM_OK, "%s", lam_last_error());
    want = io_read(io_tmp("reference.npy"), &want_len);
    cr_assert_gt(want_len, 64);
}

static void teardown(void)
{
    lam_tensor_release(sample);
    free(want);
}

TestSuite(io_write, .init = setup, .fini = teardown);

/* `p` holds exactly `prefix` followed by the saved array */
static void expect_contents(const char *p, const char *prefix)
{
    size_t n, k = strlen(prefix);
    unsigned char *got = io_read(p, &n);
    cr_expect(n == k + want_len && memcmp(got, prefix, k) == 0 && memcmp(got + k, want, want_len) == 0,
              "%s: %zu bytes, expected %zu + %zu", p, n, k, want_len);
    free(got);
}

static void save_ok(const char *p)
{
    cr_assert_eq(lam_npy_save(p, sample), LAM_OK, "%s: %s", p, lam_last_error());
}

Test(io_write, regular_file_keeps_mode_and_owner)
{
    static const mode_t modes[] = {0600, 0640, 0755, 0400};
    struct stat before, after;
    for (size_t i = 0; i < sizeof modes / sizeof *modes; i++) {
        snprintf(path, sizeof path, "%s", io_tmp("moded.npy"));
        unlink(path);
        io_write(path, "old", 3);
        cr_assert_eq(chmod(path, modes[i]), 0);
        if (geteuid() == 0) /* root may give the file away: the new one must follow */
            cr_assert_eq(chown(path, 1234, 1235), 0, "%s", strerror(errno));
        cr_assert_eq(stat(path, &before), 0);
        save_ok(path);
        cr_assert_eq(stat(path, &after), 0);
        cr_expect_eq(after.st_mode & 07777, modes[i], "mode %o came back %o", (unsigned)modes[i],
                     (unsigned)(after.st_mode & 07777));
        cr_expect_eq(after.st_uid, before.st_uid);
        cr_expect_eq(after.st_gid, before.st_gid);
        cr_expect_neq(after.st_ino, before.st_ino, "a single-name file is replaced (atomic rename)");
        expect_contents(path, "");
    }
    /* a new file: 0666 less the umask */
    umask(027);
    snprintf(path, sizeof path, "%s", io_tmp("fresh.npy"));
    save_ok(path);
    cr_assert_eq(stat(path, &after), 0);
    cr_expect_eq(after.st_mode & 07777, 0640, "new file mode %o", (unsigned)(after.st_mode & 07777));
}

Test(io_write, symlinks_are_followed)
{
    char target[1024], buf[1024];
    struct stat st;
    ssize_t n;
    /* relative link -> target */
    snprintf(target, sizeof target, "%s", io_tmp("target.npy"));
    io_write(target, "old", 3);
    cr_assert_eq(chmod(target, 0600), 0);
    snprintf(path, sizeof path, "%s", io_tmp("link.npy"));
    cr_assert_eq(symlink("target.npy", path), 0);
    save_ok(path);
    cr_assert_eq(lstat(path, &st), 0);
    cr_expect(S_ISLNK(st.st_mode), "the link was replaced by a file");
    n = readlink(path, buf, sizeof buf - 1);
    cr_assert_gt(n, 0);
    buf[n] = '\0';
    cr_expect_str_eq(buf, "target.npy");
    expect_contents(target, "");
    cr_assert_eq(stat(target, &st), 0);
    cr_expect_eq(st.st_mode & 07777, 0600);

    /* absolute link -> relative link -> target */
    snprintf(other, sizeof other, "%s", io_tmp("link2.npy"));
    cr_assert_eq(symlink(path, other), 0);
    io_write(target, "old", 3);
    save_ok(other);
    cr_assert_eq(lstat(other, &st), 0);
    cr_expect(S_ISLNK(st.st_mode));
    cr_assert_eq(lstat(path, &st), 0);
    cr_expect(S_ISLNK(st.st_mode));
    expect_contents(target, "");

    /* a dangling link: its target is created */
    snprintf(path, sizeof path, "%s", io_tmp("dangling.npy"));
    cr_assert_eq(symlink("created.npy", path), 0);
    save_ok(path);
    cr_assert_eq(lstat(path, &st), 0);
    cr_expect(S_ISLNK(st.st_mode));
    expect_contents(io_tmp("created.npy"), "");

    /* a loop fails cleanly */
    snprintf(path, sizeof path, "%s", io_tmp("loop.npy"));
    cr_assert_eq(symlink("loop.npy", path), 0);
    cr_expect_eq(lam_npy_save(path, sample), LAM_ERR_IO);
    cr_expect(strstr(lam_last_error(), "loop.npy"), "%s", lam_last_error());
    cr_assert_eq(lstat(path, &st), 0);
    cr_expect(S_ISLNK(st.st_mode));
    io_leak_check();
}

Test(io_write, safetensors_save_follows_symlinks)
{
    lam_state_dict *sd;
    struct stat st;
    cr_assert_eq(lam_state_dict_create(&sd), LAM_OK);
    cr_assert_eq(lam_state_dict_set(sd, "w", sample), LAM_OK);
    snprintf(other, sizeof other, "%s", io_tmp("target.safetensors"));
    io_write(other, "old", 3);
    snprintf(path, sizeof path, "%s", io_tmp("link.safetensors"));
    cr_assert_eq(symlink("target.safetensors", path), 0);
    cr_assert_eq(lam_safetensors_save(path, sd), LAM_OK, "%s", lam_last_error());
    cr_assert_eq(lstat(path, &st), 0);
    cr_expect(S_ISLNK(st.st_mode), "the link was replaced by a file");
    lam_state_dict *back = NULL;
    cr_assert_eq(lam_safetensors_load(other, &back), LAM_OK, "%s", lam_last_error());
    cr_expect_eq(lam_state_dict_len(back), 1);
    lam_state_dict_free(back);
    lam_state_dict_free(sd);
    io_leak_check();
}

Test(io_write, hard_links_all_see_the_new_contents)
{
    struct stat a, b;
    snprintf(path, sizeof path, "%s", io_tmp("name1.npy"));
    snprintf(other, sizeof other, "%s", io_tmp("name2.npy"));
    io_write(path, "old", 3);
    cr_assert_eq(link(path, other), 0);
    save_ok(path);
    cr_assert_eq(stat(path, &a), 0);
    cr_assert_eq(stat(other, &b), 0);
    cr_expect_eq(a.st_ino, b.st_ino, "the names were split apart");
    cr_expect_eq(a.st_nlink, 2);
    expect_contents(path, "");
    expect_contents(other, "");
}

Test(io_write, fifo_is_written_not_replaced)
{
    struct stat st;
    unsigned char buf[4096];
    snprintf(path, sizeof path, "%s", io_tmp("pipe"));
    cr_assert_eq(mkfifo(path, 0600), 0, "%s", strerror(errno));
    /* our own reader end (O_RDWR does not block on Linux), so the save needs
     * no other process: the array is far smaller than the pipe buffer */
    int rd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    cr_assert_geq(rd, 0, "%s", strerror(errno));
    save_ok(path);
    cr_assert_eq(lstat(path, &st), 0);
    cr_expect(S_ISFIFO(st.st_mode), "the FIFO was replaced");
    ssize_t n = read(rd, buf, sizeof buf);
    cr_expect(n == (ssize_t)want_len && memcmp(buf, want, want_len) == 0, "read %zd bytes from the FIFO",
              n);
    close(rd);
}

/* Save to the character device `dev` (rdev `rdev`): it must stay that
 * device; returns the save's status. */
static lam_status save_to_device(const char *dev, dev_t rdev)
{
    struct stat st;
    lam_status ret = lam_npy_save(dev, sample);
    cr_assert_eq(stat(dev, &st), 0, "%s: %s", dev, strerror(errno));
    cr_assert(S_ISCHR(st.st_mode) && st.st_rdev == rdev, "%s is no longer the character device", dev);
    return ret;
}

Test(io_write, character_devices_are_written_not_replaced)
{
    struct stat null_st, full_st;
    cr_assert_eq(stat("/dev/null", &null_st), 0);
    cr_assert(S_ISCHR(null_st.st_mode));
    /* first on a device node of our own, so that a writer that replaces
     * devices is caught before it can touch /dev/null as root */
    snprintf(path, sizeof path, "%s", io_tmp("null-node"));
    if (mknod(path, S_IFCHR | 0666, null_st.st_rdev) == 0) {
        lam_status ret = save_to_device(path, null_st.st_rdev);
        if (ret == LAM_ERR_IO && strstr(lam_last_error(), "Permission denied"))
            cr_log_info("%s: nodev mount, own node skipped", path);
        else
            cr_assert_eq(ret, LAM_OK, "%s", lam_last_error());
    } else if (geteuid() == 0) {
        cr_skip_test("cannot make a device node (%s): not risking /dev/null as root", strerror(errno));
    }
    cr_expect_eq(save_to_device("/dev/null", null_st.st_rdev), LAM_OK, "%s", lam_last_error());
    if (stat("/dev/full", &full_st) == 0 && S_ISCHR(full_st.st_mode)) {
        cr_expect_eq(save_to_device("/dev/full", full_st.st_rdev), LAM_ERR_IO);
        cr_expect(strstr(lam_last_error(), "/dev/full: cannot write: No space left on device"), "%s",
                  lam_last_error());
    }
}

Test(io_write, descriptor_aliases_write_at_the_offset)
{
    struct stat before, after;
    char alias[64];
    snprintf(path, sizeof path, "%s", io_tmp("log.npy"));
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, "log:", 4), 4);
    cr_assert_eq(fstat(fd, &before), 0);
    snprintf(alias, sizeof alias, "/dev/fd/%d", fd);
    save_ok(alias);
    expect_contents(path, "log:");
    snprintf(alias, sizeof alias, "/proc/self/fd/%d", fd);
    save_ok(alias);
    cr_assert_eq(stat(path, &after), 0);
    cr_expect_eq(after.st_ino, before.st_ino, "the file behind the descriptor was replaced");
    cr_expect_eq((size_t)after.st_size, 4 + 2 * want_len, "appended twice");

    /* /dev/stdout: this process's descriptor 1, not a reopening of it */
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    cr_assert_geq(saved, 0);
    cr_assert_eq(dup2(fd, STDOUT_FILENO), STDOUT_FILENO);
    lam_status st = lam_npy_save("/dev/stdout", sample);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    cr_expect_eq(st, LAM_OK, "%s", lam_last_error());
    cr_assert_eq(stat(path, &after), 0);
    cr_expect_eq((size_t)after.st_size, 4 + 3 * want_len);
    close(fd);

    cr_expect_eq(lam_npy_save("/dev/fd/987", sample), LAM_ERR_IO);
    cr_expect(strstr(lam_last_error(), "/dev/fd/987: cannot write: Bad file descriptor"), "%s",
              lam_last_error());
    io_leak_check();
}

Test(io_write, directory_fails)
{
    struct stat st;
    snprintf(path, sizeof path, "%s", io_tmp("adir"));
    cr_assert_eq(mkdir(path, 0755), 0);
    cr_expect_eq(lam_npy_save(path, sample), LAM_ERR_IO);
    cr_expect(strstr(lam_last_error(), "adir: cannot write: Is a directory"), "%s", lam_last_error());
    cr_expect_eq(stat(path, &st), 0);
    cr_expect(S_ISDIR(st.st_mode));
    rmdir(path);
    io_leak_check();
}
