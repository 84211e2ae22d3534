/* Sequential and ModuleList list operations, mirroring PyTorch's
 * test/test_nn.py (TestNN.test_Sequential_* and test_ModuleList) with the
 * messages and reprs of PyTorch 1.13 (tests/fixtures/containers/).
 *
 * Identity is pointer identity (PyTorch's assertIs); keys are checked too,
 * since slicing a Sequential keeps them and everything else renumbers. */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

/* c holds exactly mods[0..n) in order, under keys[i] (NULL: "0", "1", ...),
 * seen both through indexing and through the children list. */
static void expect_items(lam_module *c, lam_module *const *mods, size_t n, const char *const *keys,
                         const char *what)
{
    cr_assert_eq(lam_container_len(c), n, "%s: len %zu, expected %zu", what, lam_container_len(c), n);
    cr_assert_eq(lam_module_num_children(c), n, "%s: %zu children", what, lam_module_num_children(c));
    for (size_t i = 0; i < n; i++) {
        lam_module *got = NULL;
        lam_status st = lam_container_get(c, (int64_t)i, &got);
        cr_expect_eq(st, LAM_OK, "%s: get(%zu): %s", what, i, lam_last_error());
        cr_expect(got == mods[i], "%s: item %zu is not the expected module", what, i);
        const char *name = NULL;
        lam_module *child = lam_module_child_at(c, i, &name);
        cr_expect(child == mods[i], "%s: child %zu is not the expected module", what, i);
        char num[24];
        snprintf(num, sizeof num, "%zu", i);
        const char *want = keys ? keys[i] : num;
        cr_expect(name && !strcmp(name, want), "%s: key %zu is \"%s\", expected \"%s\"", what, i,
                  name ? name : "(null)", want);
    }
}
#define ITEMS(...) ((lam_module *const[]){ __VA_ARGS__ }), \
    sizeof((lam_module *const[]){ __VA_ARGS__ }) / sizeof(lam_module *)
#define KEYS(...) ((const char *const[]){ __VA_ARGS__ })

static void release_all(lam_module **mods, size_t n)
{
    for (size_t i = 0; i < n; i++)
        lam_module_release(mods[i]);
}

/* l[0] = Linear(10, 20), l[1] = Linear(20, 30), ... as in test_nn.py */
static void four_linears(lam_module **l)
{
    for (int i = 0; i < 4; i++)
        l[i] = th_linear(10 * (i + 1), 10 * (i + 2), true);
}

/* ---- Sequential ------------------------------------------------------------- */

Test(sequential, getitem)
{
    lam_module *l[4];
    four_linears(l);
    lam_module *n = TH_SEQ(l[0], l[1], l[2], l[3]);
    cr_expect(lam_module_is_sequential(n));
    cr_expect_not(lam_module_is_modulelist(n));
    expect_items(n, ITEMS(l[0], l[1], l[2], l[3]), NULL, "n");
    for (int i = 1; i <= 4; i++) {
        lam_module *got = NULL;
        ASSERT_OK(lam_container_get(n, -i, &got));
        cr_expect(got == l[4 - i], "n[-%d]", i);
    }
    lam_module *got = NULL;
    EXPECT_FAIL(lam_container_get(n, 5, &got), LAM_ERR_INDEX, "index 5 is out of range");
    EXPECT_FAIL(lam_container_get(n, 4, &got), LAM_ERR_INDEX, "index 4 is out of range");
    EXPECT_FAIL(lam_container_get(n, -5, &got), LAM_ERR_INDEX, "index -5 is out of range");

    /* slices are Sequentials of the same modules; they keep the original keys */
    lam_module *s = NULL;
    ASSERT_OK(lam_container_slice(n, 1, LAM_NONE, LAM_NONE, &s));
    cr_expect(lam_module_is_sequential(s));
    expect_items(s, ITEMS(l[1], l[2], l[3]), KEYS("1", "2", "3"), "n[1:]");
    lam_module_release(s);
    ASSERT_OK(lam_container_slice(n, 3, LAM_NONE, LAM_NONE, &s));
    expect_items(s, ITEMS(l[3]), KEYS("3"), "n[3:]");
    lam_module_release(s);
    ASSERT_OK(lam_container_slice(n, LAM_NONE, -1, LAM_NONE, &s));
    expect_items(s, ITEMS(l[0], l[1], l[2]), NULL, "n[:-1]");
    lam_module_release(s);
    ASSERT_OK(lam_container_slice(n, LAM_NONE, -3, LAM_NONE, &s));
    expect_items(s, ITEMS(l[0]), NULL, "n[:-3]");
    lam_module_release(s);
    ASSERT_OK(lam_container_slice(n, LAM_NONE, LAM_NONE, -1, &s));
    expect_items(s, ITEMS(l[3], l[2], l[1], l[0]), KEYS("3", "2", "1", "0"), "n[::-1]");
    lam_module_release(s);
    ASSERT_OK(lam_container_slice(n, 10, 20, LAM_NONE, &s)); /* Python clamps slice bounds */
    expect_items(s, NULL, 0, NULL, "n[10:20]");
    lam_module_release(s);
    s = NULL;
    cr_expect_neq(lam_container_slice(n, LAM_NONE, LAM_NONE, 0, &s), LAM_OK, "n[::0]");
    cr_expect_null(s);
    expect_items(n, ITEMS(l[0], l[1], l[2], l[3]), NULL, "n after slicing");
    lam_module_release(n);
    release_all(l, 4);
}

Test(sequential, setitem)
{
    lam_module *l[4];
    four_linears(l);
    lam_module *n = TH_SEQ(l[0], l[1], l[2]);
    ASSERT_OK(lam_container_set(n, 0, l[3]));
    ASSERT_OK(lam_container_set(n, -1, l[3]));
    ASSERT_OK(lam_container_set(n, 1, l[0]));
    expect_items(n, ITEMS(l[3], l[0], l[3]), NULL, "n");
    EXPECT_FAIL(lam_container_set(n, 3, l[1]), LAM_ERR_INDEX, "index 3 is out of range");
    EXPECT_FAIL(lam_container_set(n, -4, l[1]), LAM_ERR_INDEX, "index -4 is out of range");
    cr_expect_neq(lam_container_set(n, 0, NULL), LAM_OK, "n[0] = NULL");
    expect_items(n, ITEMS(l[3], l[0], l[3]), NULL, "n after failed sets");
    lam_module_release(n);
    release_all(l, 4);
}

Test(sequential, setitem_named)
{
    lam_module *l[4];
    four_linears(l);
    const char *names[] = { "linear1", "linear2", "linear3" };
    lam_module *n = NULL;
    ASSERT_OK(lam_sequential_create_named(&n, 3, names, l));
    ASSERT_OK(lam_container_set(n, 0, l[3]));
    ASSERT_OK(lam_container_set(n, -1, l[3]));
    cr_expect(lam_module_child(n, "linear1") == l[3]);
    cr_expect(lam_module_child(n, "linear2") == l[1]);
    cr_expect(lam_module_child(n, "linear3") == l[3]);
    expect_items(n, ITEMS(l[3], l[1], l[3]), names, "named n");
    lam_module_release(n);
    release_all(l, 4);
}

Test(sequential, delitem)
{
    lam_module *l[4];
    four_linears(l);
    lam_module *n = TH_SEQ(l[0], l[1], l[2], l[3]);
    ASSERT_OK(lam_container_delete(n, -1));
    expect_items(n, ITEMS(l[0], l[1], l[2]), NULL, "del n[-1]");
    ASSERT_OK(lam_container_delete_slice(n, 1, LAM_NONE, 2));
    expect_items(n, ITEMS(l[0], l[2]), NULL, "del n[1::2]");
    EXPECT_FAIL(lam_container_delete(n, 2), LAM_ERR_INDEX, "index 2 is out of range");
    expect_items(n, ITEMS(l[0], l[2]), NULL, "after a failed del");
    lam_module_release(n);

    /* deleting from a named Sequential renumbers every key */
    const char *names[] = { "a", "b", "c", "d" };
    ASSERT_OK(lam_sequential_create_named(&n, 4, names, l));
    ASSERT_OK(lam_container_delete(n, 0));
    expect_items(n, ITEMS(l[1], l[2], l[3]), NULL, "named after del n[0]");
    lam_module_release(n);
    release_all(l, 4);
}

Test(sequential, add)
{
    lam_module *l[4];
    for (int i = 0; i < 4; i++)
        l[i] = th_linear(i + 1, i + 2, true);
    lam_module *n = TH_SEQ(l[0], l[1]), *other = TH_SEQ(l[2], l[3]), *sum = NULL;
    ASSERT_OK(lam_container_concat(n, other, &sum));
    cr_expect(lam_module_is_sequential(sum));
    expect_items(sum, ITEMS(l[0], l[1], l[2], l[3]), NULL, "n + other");
    expect_items(n, ITEMS(l[0], l[1]), NULL, "n after +");
    expect_items(other, ITEMS(l[2], l[3]), NULL, "other after +");
    lam_module_release(sum);

    lam_module *ml = TH_LIST(l[2]);
    sum = NULL;
    /* PyTorch: "add operator supports only objects of Sequential class, but
     * <class 'torch.nn.modules.container.ModuleList'> is given." (ValueError) */
    lam_clear_error();
    lam_status st = lam_container_concat(n, ml, &sum);
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", lam_last_error());
    cr_expect_eq(st, LAM_ERR_INVALID_ARGUMENT, "Sequential + ModuleList -> %d (%s)", (int)st, msg);
    const char *prefix = "add operator supports only objects of Sequential class, but ";
    const char *p = strstr(msg, prefix);
    cr_expect(p && strstr(p + strlen(prefix), "ModuleList") && strstr(p, " is given."),
              "message \"%s\" is not PyTorch's", msg);
    cr_expect_null(sum);
    lam_module_release(ml);
    lam_module_release(other);
    lam_module_release(n);
    release_all(l, 4);
}

Test(sequential, iadd)
{
    lam_module *l[4];
    four_linears(l);
    lam_module *n = TH_SEQ(l[0], l[1], l[2]), *n2 = TH_SEQ(l[3]);
    ASSERT_OK(lam_container_iadd(n, n2));
    ASSERT_OK(lam_container_iadd(n2, n));
    expect_items(n, ITEMS(l[0], l[1], l[2], l[3]), NULL, "n += n2");
    expect_items(n2, ITEMS(l[3], l[0], l[1], l[2], l[3]), NULL, "n2 += n");

    lam_module *ml = TH_LIST(l[0]);
    EXPECT_FAIL(lam_container_iadd(n, ml), LAM_ERR_INVALID_ARGUMENT,
                "add operator supports only objects of Sequential class, but ");
    expect_items(n, ITEMS(l[0], l[1], l[2], l[3]), NULL, "n after a failed +=");
    /* n += n: PyTorch 1.13 raises "OrderedDict mutated during iteration";
     * doubling (Python list semantics) is the other sane answer.  Either
     * way, nothing half-done. */
    if (lam_container_iadd(n, n) == LAM_OK)
        expect_items(n, ITEMS(l[0], l[1], l[2], l[3], l[0], l[1], l[2], l[3]), NULL, "n += n");
    else
        expect_items(n, ITEMS(l[0], l[1], l[2], l[3]), NULL, "n after a failed n += n");
    lam_module_release(ml);
    lam_module_release(n2);
    lam_module_release(n);
    release_all(l, 4);
}

Test(sequential, mul_rmul)
{
    fx_file *fx = FX_OPEN("containers/sequential_ops.txt");
    lam_module *l[4];
    four_linears(l);
    lam_module *n = TH_SEQ(l[0], l[1], l[2], l[3]), *n2 = NULL;
    /* a * k and k * a are the same operation in C */
    ASSERT_OK(lam_container_repeat(n, 2, &n2));
    cr_expect(lam_module_is_sequential(n2));
    expect_items(n2, ITEMS(l[0], l[1], l[2], l[3], l[0], l[1], l[2], l[3]), NULL, "n * 2");
    expect_items(n, ITEMS(l[0], l[1], l[2], l[3]), NULL, "n after *");
    lam_module_release(n2);
    ASSERT_OK(lam_container_repeat(n, 1, &n2));
    expect_items(n2, ITEMS(l[0], l[1], l[2], l[3]), NULL, "n * 1");
    lam_module_release(n2);

    n2 = NULL;
    EXPECT_FAIL(lam_container_repeat(n, 0, &n2), LAM_ERR_INVALID_ARGUMENT,
                fx_text(fx, "error_mul_0"));
    cr_expect_null(n2);
    EXPECT_FAIL(lam_container_repeat(n, -1, &n2), LAM_ERR_INVALID_ARGUMENT,
                fx_text(fx, "error_mul_-1"));
    cr_expect_null(n2);

    lam_module *ml = TH_LIST(l[0]);
    EXPECT_FAIL(lam_container_repeat(ml, 2, &n2), LAM_ERR_TYPE, "unsupported operand type(s) for *");
    cr_expect_null(n2);
    lam_module_release(ml);
    lam_module_release(n);
    release_all(l, 4);
    fx_close(fx);
}

Test(sequential, imul)
{
    fx_file *fx = FX_OPEN("containers/sequential_ops.txt");
    lam_module *l[4];
    four_linears(l);
    lam_module *n = TH_SEQ(l[0], l[1], l[2], l[3]);
    ASSERT_OK(lam_container_irepeat(n, 2));
    expect_items(n, ITEMS(l[0], l[1], l[2], l[3], l[0], l[1], l[2], l[3]), NULL, "n *= 2");
    ASSERT_OK(lam_container_irepeat(n, 2));
    expect_items(n, ITEMS(l[0], l[1], l[2], l[3], l[0], l[1], l[2], l[3], l[0], l[1], l[2], l[3], l[0],
                          l[1], l[2], l[3]),
                 NULL, "n *= 2 twice");
    EXPECT_FAIL(lam_container_irepeat(n, 0), LAM_ERR_INVALID_ARGUMENT, fx_text(fx, "error_imul_0"));
    cr_expect_eq(lam_container_len(n), 16, "a failed *= changed the container");
    lam_module_release(n);
    release_all(l, 4);
    fx_close(fx);
}

Test(sequential, append)
{
    lam_module *l[4];
    four_linears(l);
    lam_module *n = TH_SEQ(l[0], l[1], l[2]);
    ASSERT_OK(lam_container_append(n, l[3]));
    expect_items(n, ITEMS(l[0], l[1], l[2], l[3]), NULL, "n.append(l4)");
    lam_module_release(n);
    n = TH_SEQ(l[0]);
    ASSERT_OK(lam_container_append(n, l[1]));
    ASSERT_OK(lam_container_append(n, l[3]));
    expect_items(n, ITEMS(l[0], l[1], l[3]), NULL, "Sequential(l1).append(l2).append(l4)");
    cr_expect_neq(lam_container_append(n, NULL), LAM_OK, "append(NULL)");
    cr_expect_eq(lam_container_len(n), 3);
    lam_module_release(n);
    release_all(l, 4);
}

Test(sequential, pop)
{
    lam_module *l[4];
    for (int i = 0; i < 4; i++)
        l[i] = th_linear(i + 1, i + 2, true);
    lam_module *n1 = TH_SEQ(l[0], l[1], l[2], l[3]), *popped = NULL;
    ASSERT_OK(lam_container_pop(n1, 3, &popped));
    cr_expect(popped == l[3], "pop(3) returned another module");
    expect_items(n1, ITEMS(l[0], l[1], l[2]), NULL, "n1 after pop(3)");
    lam_module_release(popped); /* pop gives a new reference */
    ASSERT_OK(lam_container_pop(n1, -3, &popped));
    cr_expect(popped == l[0]);
    expect_items(n1, ITEMS(l[1], l[2]), NULL, "n1 after pop(-3)");
    lam_module_release(popped);
    ASSERT_OK(lam_container_pop(n1, 0, NULL)); /* dropped */
    expect_items(n1, ITEMS(l[2]), NULL, "n1 after pop(0)");
    popped = NULL;
    EXPECT_FAIL(lam_container_pop(n1, 1, &popped), LAM_ERR_INDEX, "index 1 is out of range");
    cr_expect_null(popped);
    lam_module_release(n1);
    release_all(l, 4);
}

Test(sequential, insert)
{
    lam_module *l[3];
    for (int i = 0; i < 3; i++)
        l[i] = th_linear(i + 1, i + 2, true);
    lam_module *n1 = TH_SEQ(l[0], l[1], l[2]), *m1 = th_linear(4, 5, true);
    ASSERT_OK(lam_container_insert(n1, 1, m1));
    expect_items(n1, ITEMS(l[0], m1, l[1], l[2]), NULL, "insert(1, m)");
    lam_module *n3 = TH_SEQ(l[0], l[1], l[2]), *m2 = th_linear(5, 6, true);
    ASSERT_OK(lam_container_insert(n3, -2, m2));
    expect_items(n3, ITEMS(l[0], m2, l[1], l[2]), NULL, "insert(-2, m)");
    ASSERT_OK(lam_container_insert(n3, 4, m1)); /* index == len appends */
    expect_items(n3, ITEMS(l[0], m2, l[1], l[2], m1), NULL, "insert(len, m)");
    ASSERT_OK(lam_container_insert(n3, -5, m1)); /* -len inserts in front */
    expect_items(n3, ITEMS(m1, l[0], m2, l[1], l[2], m1), NULL, "insert(-len, m)");
    lam_module_release(n1);
    lam_module_release(n3);
    lam_module_release(m1);
    lam_module_release(m2);
    release_all(l, 3);
}

Test(sequential, insert_fail_case)
{
    fx_file *fx = FX_OPEN("containers/sequential_ops.txt");
    lam_module *l[3];
    for (int i = 0; i < 3; i++)
        l[i] = th_linear(i + 1, i + 2, true);
    lam_module *module = th_linear(5, 6, true), *n1 = TH_SEQ(l[0], l[1], l[2]);
    EXPECT_FAIL(lam_container_insert(n1, -5, module), LAM_ERR_INDEX, fx_text(fx, "error_insert_-5"));
    EXPECT_FAIL(lam_container_insert(n1, 4, module), LAM_ERR_INDEX, fx_text(fx, "error_insert_4"));
    /* PyTorch: AssertionError "module should be of type: ...Module" */
    cr_expect_neq(lam_container_insert(n1, 1, NULL), LAM_OK, "insert(1, NULL)");
    expect_items(n1, ITEMS(l[0], l[1], l[2]), NULL, "n1 after failed inserts");
    lam_module_release(n1);
    lam_module_release(module);
    release_all(l, 3);
    fx_close(fx);
}

Test(sequential, extend)
{
    lam_module *l[4];
    four_linears(l);
    lam_module *n1 = TH_SEQ(l[0], l[1]), *n2 = TH_SEQ(l[2], l[3]), *n3 = TH_SEQ(l[0], l[1]);
    for (size_t i = 0; i < lam_container_len(n2); i++) {
        lam_module *x = NULL;
        ASSERT_OK(lam_container_get(n2, (int64_t)i, &x));
        ASSERT_OK(lam_container_append(n1, x));
    }
    ASSERT_OK(lam_container_extend(n3, n2));
    expect_items(n3, ITEMS(l[0], l[1], l[2], l[3]), NULL, "n3.extend(n2)");
    expect_items(n1, ITEMS(l[0], l[1], l[2], l[3]), NULL, "n1 appended");
    /* any iterable of modules: a ModuleList too */
    lam_module *ml = TH_LIST(l[3], l[0]);
    ASSERT_OK(lam_container_extend(n3, ml));
    expect_items(n3, ITEMS(l[0], l[1], l[2], l[3], l[3], l[0]), NULL, "n3.extend(ModuleList)");
    /* a single module is not iterable */
    cr_expect_eq(lam_container_extend(n3, l[0]), LAM_ERR_TYPE, "extend(Linear)");
    cr_expect_eq(lam_container_len(n3), 6);
    lam_module_release(ml);
    lam_module_release(n1);
    lam_module_release(n2);
    lam_module_release(n3);
    release_all(l, 4);
}

Test(sequential, reprs_after_operations)
{
    /* the same steps as gen-fixtures.py's sequential_ops, repr after each */
    fx_file *fx = FX_OPEN("containers/sequential_ops.txt");
    lam_module *l[4];
    for (int i = 0; i < 4; i++)
        l[i] = th_linear(i + 1, i + 2, true);
    const char *names[] = { "linear1", "linear2", "linear3", "linear4" };
    lam_module *seq = NULL, *s = NULL;
    ASSERT_OK(lam_sequential_create_named(&seq, 4, names, l));
    EXPECT_REPR(seq, fx, "repr");
    ASSERT_OK(lam_container_slice(seq, 1, LAM_NONE, LAM_NONE, &s));
    EXPECT_REPR(s, fx, "repr_slice_1_");
    lam_module_release(s);
    ASSERT_OK(lam_container_slice(seq, LAM_NONE, LAM_NONE, -1, &s));
    EXPECT_REPR(s, fx, "repr_slice_rev");
    lam_module_release(s);
    lam_module *seq2 = TH_SEQ(l[0], l[1], l[2], l[3]);
    ASSERT_OK(lam_container_slice(seq2, 1, 3, LAM_NONE, &s));
    EXPECT_REPR(s, fx, "repr_plain_slice_1_3");
    lam_module_release(s);

    lam_module *id = TH_MAKE(lam_identity_create), *relu = TH_MAKE(lam_relu_create),
               *tanh_ = TH_MAKE(lam_tanh_create);
    ASSERT_OK(lam_container_set(seq, 0, id));
    EXPECT_REPR(seq, fx, "repr_after_set0");
    ASSERT_OK(lam_container_delete(seq, 1));
    EXPECT_REPR(seq, fx, "repr_after_del1");
    ASSERT_OK(lam_container_insert(seq, 1, relu));
    EXPECT_REPR(seq, fx, "repr_after_insert1");
    lam_module *t = TH_SEQ(tanh_), *sum = NULL;
    ASSERT_OK(lam_container_concat(seq, t, &sum));
    EXPECT_REPR(sum, fx, "repr_add");
    lam_module *rt = TH_SEQ(relu, tanh_), *twice = NULL;
    ASSERT_OK(lam_container_repeat(rt, 2, &twice));
    EXPECT_REPR(twice, fx, "repr_mul_2");

    lam_module *all[] = { twice, rt, sum, t, id, relu, tanh_, seq2, seq };
    release_all(all, sizeof all / sizeof all[0]);
    release_all(l, 4);
    fx_close(fx);
}

/* ---- ModuleList ---------------------------------------------------------- */

/* The Python list that test_ModuleList keeps beside the ModuleList. */
typedef struct mlist {
    lam_module *m[64];
    size_t n;
} mlist;

static void check(lam_module *ml, const mlist *ref, const char *step)
{
    expect_items(ml, ref->m, ref->n, NULL, step);
}

static void ref_insert(mlist *r, size_t at, lam_module *m)
{
    memmove(&r->m[at + 1], &r->m[at], (r->n - at) * sizeof r->m[0]);
    r->m[at] = m;
    r->n++;
}

Test(modulelist, test_ModuleList)
{
    fx_file *fx = FX_OPEN("containers/sequential_ops.txt");
    lam_module *owned[32];
    size_t n_owned = 0;
#define NEW(expr) (owned[n_owned++] = (expr))
    mlist ref = { .n = 0 };
    ref.m[ref.n++] = NEW(TH_MAKE(lam_relu_create));
    ref.m[ref.n++] = NEW(th_linear(5, 5, true));
    lam_module *ml = NULL, *tmp = NULL;
    ASSERT_OK(lam_modulelist_create(&ml, ref.n, ref.m));
    cr_expect(lam_module_is_modulelist(ml));
    cr_expect_not(lam_module_is_sequential(ml));
    check(ml, &ref, "ModuleList(modules)");

    /* modules += [X]; module_list += [X] */
    ref.m[ref.n++] = NEW(th_linear(3, 4, true));
    tmp = TH_LIST(ref.m[ref.n - 1]);
    ASSERT_OK(lam_container_iadd(ml, tmp));
    lam_module_release(tmp);
    check(ml, &ref, "+= [m]");

    /* module_list = module_list + ModuleList(modules[-2:]) */
    ref.m[ref.n++] = NEW(th_linear(3, 4, false));
    ref.m[ref.n++] = NEW(TH_MAKE(lam_gelu_create, "none"));
    tmp = TH_LIST(ref.m[ref.n - 2], ref.m[ref.n - 1]);
    lam_module *sum = NULL;
    ASSERT_OK(lam_container_concat(ml, tmp, &sum));
    lam_module_release(tmp);
    lam_module_release(ml);
    ml = sum;
    cr_expect(lam_module_is_modulelist(ml), "ModuleList + ModuleList is a ModuleList");
    check(ml, &ref, "+");

    ref_insert(&ref, 1, NEW(th_linear(3, 2, true)));
    ASSERT_OK(lam_container_insert(ml, 1, ref.m[1]));
    check(ml, &ref, "insert(1, m)");

    ref.m[ref.n++] = NEW(TH_MAKE(lam_tanh_create));
    ASSERT_OK(lam_container_append(ml, ref.m[ref.n - 1]));
    check(ml, &ref, "append");

    ref.m[ref.n++] = NEW(th_linear(5, 5, true));
    ref.m[ref.n++] = NEW(TH_MAKE(lam_sigmoid_create));
    tmp = TH_LIST(ref.m[ref.n - 2], ref.m[ref.n - 1]);
    ASSERT_OK(lam_container_extend(ml, tmp));
    lam_module_release(tmp);
    check(ml, &ref, "extend");

    ref.m[2] = NEW(th_linear(5, 3, true));
    ASSERT_OK(lam_container_set(ml, 2, ref.m[2]));
    check(ml, &ref, "[2] = m");
    ref.m[ref.n - 1] = NEW(th_linear(5, 2, true));
    ASSERT_OK(lam_container_set(ml, -1, ref.m[ref.n - 1]));
    check(ml, &ref, "[-1] = m");

    /* slices: ModuleLists of the same modules, renumbered from 0 */
    struct { int64_t start, stop, step; size_t from, count; int dir; } sl[] = {
        { 1, LAM_NONE, LAM_NONE, 1, ref.n - 1, 1 }, { 3, LAM_NONE, LAM_NONE, 3, ref.n - 3, 1 },
        { LAM_NONE, -1, LAM_NONE, 0, ref.n - 1, 1 }, { LAM_NONE, -3, LAM_NONE, 0, ref.n - 3, 1 },
        { LAM_NONE, LAM_NONE, -1, ref.n - 1, ref.n, -1 },
    };
    for (size_t k = 0; k < sizeof sl / sizeof sl[0]; k++) {
        mlist want = { .n = sl[k].count };
        for (size_t i = 0; i < want.n; i++)
            want.m[i] = ref.m[sl[k].from + (size_t)sl[k].dir * i];
        lam_module *s = NULL;
        ASSERT_OK(lam_container_slice(ml, sl[k].start, sl[k].stop, sl[k].step, &s));
        cr_expect(lam_module_is_modulelist(s), "slice %zu is not a ModuleList", k);
        char what[32];
        snprintf(what, sizeof what, "slice %zu", k);
        check(s, &want, what);
        lam_module_release(s);
    }

    ASSERT_OK(lam_container_delete(ml, -1));
    ref.n--;
    check(ml, &ref, "del [-1]");
    ASSERT_OK(lam_container_delete_slice(ml, 1, LAM_NONE, 2));
    mlist even = { .n = 0 };
    for (size_t i = 0; i < ref.n; i += 2)
        even.m[even.n++] = ref.m[i];
    ref = even;
    check(ml, &ref, "del [1::2]");

    /* += / extend with a single module: TypeError */
    lam_module *relu = NEW(TH_MAKE(lam_relu_create));
    EXPECT_FAIL(lam_container_iadd(ml, relu), LAM_ERR_TYPE,
                fx_text(fx, "error_modulelist_extend_relu"));
    EXPECT_FAIL(lam_container_extend(ml, relu), LAM_ERR_TYPE,
                fx_text(fx, "error_modulelist_extend_relu"));
    check(ml, &ref, "after the TypeErrors");
    lam_module_release(ml);

    /* pop keeps the order of the rest */
    mlist three = { .m = { NEW(TH_MAKE(lam_relu_create)), NEW(th_linear(5, 5, true)),
                           NEW(th_linear(3, 4, true)) },
                    .n = 3 };
    ASSERT_OK(lam_modulelist_create(&ml, 3, three.m));
    lam_module *popped = NULL;
    ASSERT_OK(lam_container_pop(ml, 1, &popped));
    cr_expect(popped == three.m[1]);
    lam_module_release(popped);
    three.m[1] = three.m[2];
    three.n = 2;
    check(ml, &three, "pop(1)");

    /* a ModuleList has no forward */
    lam_tensor *x = NULL, *y = NULL;
    ASSERT_OK(lam_tensor_create(&x, 2, (int64_t[]){ 1, 3 }));
    EXPECT_FAIL(lam_module_forward(ml, x, &y), LAM_ERR_NOT_IMPLEMENTED,
                "ModuleList has no forward; use it inside a module that defines one");
    cr_expect_null(y);
    lam_tensor_release(x);
    lam_module_release(ml);
    release_all(owned, n_owned);
#undef NEW
    fx_close(fx);
}

Test(modulelist, index_errors_and_negative)
{
    fx_file *fx = FX_OPEN("containers/sequential_ops.txt");
    lam_module *r = TH_MAKE(lam_relu_create), *a = th_linear(2, 2, true);
    lam_module *ml = TH_LIST(r, r, a), *got = NULL;
    EXPECT_FAIL(lam_container_get(ml, 3, &got), LAM_ERR_INDEX, fx_text(fx, "error_modulelist_getitem_3"));
    EXPECT_FAIL(lam_container_get(ml, -4, &got), LAM_ERR_INDEX, "index -4 is out of range");
    EXPECT_FAIL(lam_container_set(ml, 3, a), LAM_ERR_INDEX, "index 3 is out of range");
    EXPECT_FAIL(lam_container_delete(ml, -4), LAM_ERR_INDEX, "index -4 is out of range");
    ASSERT_OK(lam_container_get(ml, -1, &got));
    cr_expect(got == a);
    expect_items(ml, ITEMS(r, r, a), NULL, "ml after errors");
    /* a ModuleList can hold one module twice; * is Sequential-only */
    lam_module *rep = NULL;
    EXPECT_FAIL(lam_container_repeat(ml, 2, &rep), LAM_ERR_TYPE, "unsupported operand type(s) for *");
    lam_module_release(ml);
    lam_module_release(a);
    lam_module_release(r);
    fx_close(fx);
}

Test(modulelist, insert_clamps_like_list_insert)
{
    /* documented in container.h: PyTorch's ModuleList.insert does not
     * validate; lamina clamps like Python's list.insert */
    lam_module *a = th_linear(1, 1, true), *b = th_linear(1, 1, true), *c = th_linear(1, 1, true),
               *m = th_linear(2, 2, true);
    lam_module *ml = TH_LIST(a, b, c);
    ASSERT_OK(lam_container_insert(ml, -1, m));
    expect_items(ml, ITEMS(a, b, m, c), NULL, "insert(-1, m)");
    ASSERT_OK(lam_container_insert(ml, 100, m));
    expect_items(ml, ITEMS(a, b, m, c, m), NULL, "insert(100, m)");
    ASSERT_OK(lam_container_insert(ml, -100, m));
    expect_items(ml, ITEMS(m, a, b, m, c, m), NULL, "insert(-100, m)");
    lam_module_release(ml);
    lam_module *all[] = { a, b, c, m };
    release_all(all, 4);
}

Test(modulelist, concat_with_sequential_and_repr)
{
    fx_file *fx = FX_OPEN("containers/modulelist_ops.txt");
    lam_module *relu = TH_MAKE(lam_relu_create), *lin = th_linear(5, 5, true),
               *tanh_ = TH_MAKE(lam_tanh_create), *sig = TH_MAKE(lam_sigmoid_create);
    lam_module *ml = TH_LIST(relu, lin, tanh_, sig), *s = NULL;
    EXPECT_REPR(ml, fx, "repr");
    ASSERT_OK(lam_container_slice(ml, 1, LAM_NONE, LAM_NONE, &s));
    EXPECT_REPR(s, fx, "repr_slice_1_");
    lam_module_release(s);
    ASSERT_OK(lam_container_slice(ml, LAM_NONE, LAM_NONE, -1, &s));
    EXPECT_REPR(s, fx, "repr_slice_rev");
    lam_module_release(s);

    /* ModuleList + any iterable (here a Sequential) is a ModuleList */
    lam_module *seq = TH_SEQ(sig), *sum = NULL;
    ASSERT_OK(lam_container_concat(ml, seq, &sum));
    cr_expect(lam_module_is_modulelist(sum));
    expect_items(sum, ITEMS(relu, lin, tanh_, sig, sig), NULL, "ModuleList + Sequential");
    lam_module_release(sum);

    ASSERT_OK(lam_container_delete_slice(ml, 1, LAM_NONE, 2));
    EXPECT_REPR(ml, fx, "repr_after_del_1_2");
    lam_module *all[] = { seq, ml, relu, lin, tanh_, sig };
    release_all(all, 6);
    fx_close(fx);
}
