/* File helpers: atomic writes with exact modes, mkdir -p, bounded reads, the program's root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/fsutil.h"

/* Every block given back while `watched` is set (freed, or handed to realloc, which may give
 * it back unwiped) is searched for it. Under ASan through its free hook, else by standing in
 * for free and realloc. */
static const char *watched;
static int unwiped_releases;

#if defined(__SANITIZE_ADDRESS__)
/* From ASan's sanitizer/allocator_interface.h, which not every compiler package ships. */
int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void *, size_t),
                                              void (*free_hook)(const volatile void *));
size_t __sanitizer_get_allocated_size(const volatile void *p);
static void note_release(const volatile void *p)
{
    if (watched && p &&
        memmem((const void *)p, __sanitizer_get_allocated_size((const void *)p), watched,
               strlen(watched)))
        unwiped_releases++;
}
static void note_allocation(const volatile void *p, size_t size)
{
    (void)p, (void)size; /* ASan installs a free hook only beside a malloc hook */
}
static void watch_releases(void)
{
    assert_int_equal(__sanitizer_install_malloc_and_free_hooks(note_allocation, note_release),
                     1);
}
#else
#include <malloc.h>
extern void __libc_free(void *p);
extern void *__libc_realloc(void *p, size_t size);
static void note_release(void *p)
{
    if (watched && p && memmem(p, malloc_usable_size(p), watched, strlen(watched)))
        unwiped_releases++;
}
void free(void *p)
{
    note_release(p);
    __libc_free(p);
}
void *realloc(void *p, size_t size)
{
    note_release(p);
    return __libc_realloc(p, size);
}
static void watch_releases(void) {}
#endif

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

/* A file of exactly the limit is read; one byte more is refused. */
static void a_file_of_exactly_the_limit_is_read(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_fsutil.XXXXXX", err[512];
    assert_non_null(mkdtemp(dir));
    char *path = fs_join(dir, "cookie");
    char content[4097];
    memset(content, 'c', sizeof content);
    assert_int_equal(fs_write_atomic(path, content, 4096, 0400, err, sizeof err), 0);
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(fs_read_file(path, 4096, &text, &len, err, sizeof err), 0);
    assert_int_equal(len, 4096);
    assert_int_equal(strlen(text), 4096);
    free(text);
    assert_int_equal(fs_write_atomic(path, content, 4097, 0400, err, sizeof err), 0);
    assert_int_equal(fs_read_file(path, 4096, &text, NULL, err, sizeof err), -1);
    assert_null(text);
    assert_non_null(strstr(err, "larger than 4096 bytes"));
    unlink(path);
    free(path);
    rmdir(dir);
}

/* A file whose size is not known in advance (procfs says 0) makes the buffer grow: every
 * smaller buffer is wiped before it is given back, as the content may be a secret. Here the
 * content is a child's environment that holds a marker. */
static void a_growing_read_wipes_every_buffer_it_gives_back(void **state)
{
    (void)state;
    static const char marker[] = "Wipe-Me-9f2c71d0a4be83e6d5517c0b";
    char var[64], pad[400];
    snprintf(var, sizeof var, "ECB_MARKER=%s", marker);
    snprintf(pad, sizeof pad, "PAD=%0300d", 0);
    char *env[] = {var, pad, NULL};
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        execle("/bin/sleep", "sleep", "30", (char *)NULL, env);
        _exit(127);
    }
    char proc[64], err[512], *text = NULL;
    snprintf(proc, sizeof proc, "/proc/%d/cmdline", (int)child);
    bool exec_done = false;
    for (int i = 0; i < 500 && !exec_done; i++) { /* at most 5 s for the exec */
        assert_int_equal(fs_read_file(proc, 4096, &text, NULL, err, sizeof err), 0);
        exec_done = strcmp(text, "sleep") == 0;
        free(text);
        if (!exec_done)
            nanosleep(&(struct timespec){.tv_nsec = 10000000}, NULL);
    }
    assert_true(exec_done);
    snprintf(proc, sizeof proc, "/proc/%d/environ", (int)child);
    size_t len = 0;
    watch_releases();
    unwiped_releases = 0;
    watched = marker;
    int rc = fs_read_file(proc, 4096, &text, &len, err, sizeof err);
    watched = NULL;
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    assert_int_equal(rc, 0);
    assert_int_equal(len, strlen(var) + 1 + strlen(pad) + 1);
    assert_string_equal(text, var);
    assert_int_equal(unwiped_releases, 0);
    free(text);
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
        cmocka_unit_test(a_file_of_exactly_the_limit_is_read),
        cmocka_unit_test(a_growing_read_wipes_every_buffer_it_gives_back),
        cmocka_unit_test(reports_failures_with_path_and_reason),
        cmocka_unit_test(creates_nested_directories),
        cmocka_unit_test(joins_paths),
        cmocka_unit_test(the_program_root_is_two_levels_above_the_executable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
