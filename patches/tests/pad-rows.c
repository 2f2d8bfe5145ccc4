// 0001-ggml-cpu-pad-row-fast-path: the row fast path (contiguous source) and the generic
// kernel (a strided view of the same values) against a plain loop, for odd shapes, odd
// paddings on every side and thread counts that do not divide the rows. Prints one line per
// case and exits 1 on the first mismatch. Built and run by pytests/test_engine_patches.py.
#include <ggml.h>
#include <ggml-cpu.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static float value(int64_t i0, int64_t i1, int64_t i2, int64_t i3) {
    return 1.0f + (float) (i0 + 7 * i1 + 131 * i2 + 1709 * i3);
}

// The padded tensor as a plain loop computes it: the source's value inside, 0 outside.
static float expected(const int64_t * ne, const int * lp, int64_t i0, int64_t i1, int64_t i2, int64_t i3) {
    const int64_t s[4] = {i0 - lp[0], i1 - lp[1], i2 - lp[2], i3 - lp[3]};
    for (int d = 0; d < 4; d++) {
        if (s[d] < 0 || s[d] >= ne[d]) return 0.0f;
    }
    return value(s[0], s[1], s[2], s[3]);
}

static int check(const int64_t * ne, const int * lp, const int * rp, int threads, int strided) {
    struct ggml_init_params params = {64 * 1024 * 1024, NULL, false};
    struct ggml_context * ctx = ggml_init(params);
    struct ggml_tensor * src;
    if (strided) {
        // A transposed copy, viewed back: the same logical values with nb[0] != sizeof(float).
        struct ggml_tensor * t = ggml_new_tensor_4d(ctx, GGML_TYPE_F32, ne[1], ne[0], ne[2], ne[3]);
        for (int64_t i3 = 0; i3 < ne[3]; i3++) for (int64_t i2 = 0; i2 < ne[2]; i2++)
        for (int64_t i1 = 0; i1 < ne[1]; i1++) for (int64_t i0 = 0; i0 < ne[0]; i0++) {
            float * p = (float *) ((char *) t->data + i3 * t->nb[3] + i2 * t->nb[2] + i0 * t->nb[1] + i1 * t->nb[0]);
            *p = value(i0, i1, i2, i3);
        }
        src = ggml_transpose(ctx, t);
    } else {
        src = ggml_new_tensor_4d(ctx, GGML_TYPE_F32, ne[0], ne[1], ne[2], ne[3]);
        for (int64_t i3 = 0; i3 < ne[3]; i3++) for (int64_t i2 = 0; i2 < ne[2]; i2++)
        for (int64_t i1 = 0; i1 < ne[1]; i1++) for (int64_t i0 = 0; i0 < ne[0]; i0++) {
            float * p = (float *) ((char *) src->data + i3 * src->nb[3] + i2 * src->nb[2] + i1 * src->nb[1] + i0 * src->nb[0]);
            *p = value(i0, i1, i2, i3);
        }
    }
    struct ggml_tensor * out = ggml_pad_ext(ctx, src, lp[0], rp[0], lp[1], rp[1], lp[2], rp[2], lp[3], rp[3]);
    struct ggml_cgraph * graph = ggml_new_graph(ctx);
    ggml_build_forward_expand(graph, out);
    // Garbage first, so that a row the kernel skips cannot pass as zero.
    memset(out->data, 0x7f, ggml_nbytes(out));
    if (ggml_graph_compute_with_ctx(ctx, graph, threads) != GGML_STATUS_SUCCESS) {
        printf("compute failed\n");
        return 1;
    }
    long bad = 0, n = 0;
    for (int64_t i3 = 0; i3 < out->ne[3]; i3++) for (int64_t i2 = 0; i2 < out->ne[2]; i2++)
    for (int64_t i1 = 0; i1 < out->ne[1]; i1++) for (int64_t i0 = 0; i0 < out->ne[0]; i0++) {
        const float got = *(float *) ((char *) out->data + i3 * out->nb[3] + i2 * out->nb[2] + i1 * out->nb[1] + i0 * out->nb[0]);
        if (got != expected(ne, lp, i0, i1, i2, i3)) bad++;
        n++;
    }
    printf("%s src %lldx%lldx%lldx%lld pad l%d,%d,%d,%d r%d,%d,%d,%d threads %d: %ld of %ld wrong\n",
           strided ? "generic" : "rows   ", (long long) ne[0], (long long) ne[1], (long long) ne[2], (long long) ne[3],
           lp[0], lp[1], lp[2], lp[3], rp[0], rp[1], rp[2], rp[3], threads, bad, n);
    ggml_free(ctx);
    return bad != 0;
}

int main(void) {
    const int64_t shapes[][4] = {{7, 5, 3, 2}, {1, 1, 1, 1}, {131, 3, 1, 1}, {5, 9, 2, 3}};
    const int pads[][8] = {  // lp0..lp3, rp0..rp3
        {0, 0, 0, 0, 0, 1, 0, 0},  // build_sampling's ggml_pad(logits, 0, 1, 0, 0)
        {2, 1, 0, 1, 3, 0, 2, 0},
        {0, 3, 1, 0, 5, 0, 0, 2},
        {1, 0, 0, 0, 0, 0, 0, 0},
    };
    const int threads[] = {1, 3, 4};
    int failed = 0;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
    for (size_t p = 0; p < sizeof pads / sizeof pads[0]; p++)
    for (size_t t = 0; t < sizeof threads / sizeof threads[0]; t++)
    for (int strided = 0; strided < 2; strided++) {
        failed |= check(shapes[s], pads[p], pads[p] + 4, threads[t], strided);
    }
    printf(failed ? "FAILED\n" : "ok\n");
    return failed;
}
