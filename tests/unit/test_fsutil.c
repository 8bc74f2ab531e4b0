/* File helpers: atomic writes with exact modes, mkdir -p, bounded reads, the program's root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/fsutil.h"

static void writes_atomically_with_the_exact_mode(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_fsutil.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char err[512];
    char *path = fs_join(dir, "secret");
    mode_t old = umask(077);
    assert_int_equal(fs_write_atomic(path, "abc", 3, 0644, err, sizeof err), 0);
    umask(old);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0644);
    /* Replacing a read-only file works (rename, not open for writing). */
    assert_int_equal(fs_write_atomic(path, "xyz1", 4, 0400, err, sizeof err), 0);
    assert_int_equal(fs_write_atomic(path, "second", 6, 0400, err, sizeof err), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0400);
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(fs_read_file(path, 100, &text, &len, err, sizeof err), 0);
    assert_string_equal(text, "second");
    assert_int_equal(len, 6);
    free(text);
    /* Too large for the caller's limit. */
    assert_int_equal(fs_read_file(path, 3, &text, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, path));
    /* No temporary file is left behind. */
    char cmd[128];
    snprintf(cmd, sizeof cmd, "test $(ls -A %s | wc -l) -eq 1", dir);
    assert_int_equal(system(cmd), 0);
    unlink(path);
    free(path);
    rmdir(dir);
}

static void reports_failures_with_path_and_reason(void **state)
{
    (void)state;
    char err[512];
    assert_int_equal(fs_write_atomic("/nonexistent-dir/x", "a", 1, 0644, err, sizeof err), -1);
    assert_non_null(strstr(err, "/nonexistent-dir/x"));
    assert_non_null(strstr(err, "No such file or directory"));
    char *text = NULL;
    assert_int_equal(fs_read_file("/nonexistent-file", 10, &text, NULL, err, sizeof err), -1);
    assert_null(text);
    assert_non_null(strstr(err, "/nonexistent-file: No such file"));
}

static void creates_nested_directories(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_fsutil.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char err[512], deep[128], file[128];
    snprintf(deep, sizeof deep, "%s/a/b/c", dir);
    assert_int_equal(fs_mkdir_p(deep, 0755, err, sizeof err), 0);
    assert_int_equal(fs_mkdir_p(deep, 0755, err, sizeof err), 0);
    struct stat st;
    assert_int_equal(stat(deep, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    snprintf(file, sizeof file, "%s/a/file", dir);
    assert_int_equal(fs_write_atomic(file, "", 0, 0644, err, sizeof err), 0);
    char below[160];
    snprintf(below, sizeof below, "%s/sub", file);
    assert_int_equal(fs_mkdir_p(file, 0755, err, sizeof err), -1);
    assert_non_null(strstr(err, "in the way"));
    assert_int_equal(fs_mkdir_p(below, 0755, err, sizeof err), -1);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void joins_paths(void **state)
{
    (void)state;
    char *p = fs_join("/a/", "b");
    assert_string_equal(p, "/a/b");
    free(p);
    p = fs_join("/a", "b");
    assert_string_equal(p, "/a/b");
    free(p);
}

/* This test program is <build>/tests/test_fsutil: its root is <build>. */
static void the_program_root_is_two_levels_above_the_executable(void **state)
{
    (void)state;
    char err[256], exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    assert_true(n > 0);
    exe[n] = '\0';
    *strrchr(exe, '/') = '\0';
    *strrchr(exe, '/') = '\0';
    char *root = fs_program_root(err, sizeof err);
    assert_non_null(root);
    assert_string_equal(root, exe);
    free(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(writes_atomically_with_the_exact_mode),
        cmocka_unit_test(reports_failures_with_path_and_reason),
        cmocka_unit_test(creates_nested_directories),
        cmocka_unit_test(joins_paths),
        cmocka_unit_test(the_program_root_is_two_levels_above_the_executable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
