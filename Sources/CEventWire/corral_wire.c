// libzmq is opened with dlopen, not linked: the binary then runs where libzmq is absent
// (the GPU checker, images built before it was added) as long as events stay off, and a
// missing library is a clear startup error naming it. The constants are libzmq's stable
// ABI values (zmq.h 4.x).
#include "corral_wire.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack/pack.h>
#include <msgpack/sbuffer.h>

enum { ZMQ_PUB = 1, ZMQ_ROUTER = 6, ZMQ_DONTWAIT = 1, ZMQ_SNDMORE = 2, ZMQ_RCVMORE = 13,
       ZMQ_LINGER = 17, ZMQ_SNDHWM = 23 };

struct corral_zmq {
    void *library, *context, *pub, *router;
    void *(*ctx_new)(void);
    int (*ctx_term)(void *);
    void *(*socket)(void *, int);
    int (*close)(void *);
    int (*bind)(void *, const char *);
    int (*setsockopt)(void *, int, const void *, size_t);
    int (*getsockopt)(void *, int, void *, size_t *);
    int (*send)(void *, const void *, size_t, int);
    int (*recv)(void *, void *, size_t, int);
    int (*errno_)(void);
    const char *(*strerror)(int);
};

static void fail(char *error, size_t size, const char *what, const char *detail) {
    if (error && size) snprintf(error, size, "%s: %s", what, detail ? detail : "unknown error");
}

static void big_endian(int64_t value, uint8_t out[8]) {
    uint64_t v = (uint64_t)value;
    for (int i = 7; i >= 0; i--) { out[i] = (uint8_t)(v & 0xff); v >>= 8; }
}

corral_zmq *corral_zmq_open(const char *endpoint, const char *replay_endpoint, int hwm,
                            char *error, size_t error_size) {
    corral_zmq *z = calloc(1, sizeof *z);
    if (!z) { fail(error, error_size, "out of memory", NULL); return NULL; }
    z->library = dlopen("libzmq.so.5", RTLD_NOW | RTLD_LOCAL);
    if (!z->library) {
        fail(error, error_size, "libzmq.so.5 (apt-get install libzmq5) cannot be loaded", dlerror());
        free(z);
        return NULL;
    }
#define LOAD(field, name) *(void **)(&z->field) = dlsym(z->library, name); \
    if (!z->field) { fail(error, error_size, "libzmq lacks " name, dlerror()); corral_zmq_close(z); return NULL; }
    LOAD(ctx_new, "zmq_ctx_new") LOAD(ctx_term, "zmq_ctx_term") LOAD(socket, "zmq_socket")
    LOAD(close, "zmq_close") LOAD(bind, "zmq_bind") LOAD(setsockopt, "zmq_setsockopt")
    LOAD(getsockopt, "zmq_getsockopt") LOAD(send, "zmq_send") LOAD(recv, "zmq_recv")
    LOAD(errno_, "zmq_errno") LOAD(strerror, "zmq_strerror")
#undef LOAD
    int linger = 0;
    z->context = z->ctx_new();
    if (!z->context) { fail(error, error_size, "zmq_ctx_new", z->strerror(z->errno_())); corral_zmq_close(z); return NULL; }
    z->pub = z->socket(z->context, ZMQ_PUB);
    if (!z->pub || z->setsockopt(z->pub, ZMQ_SNDHWM, &hwm, sizeof hwm) != 0
        || z->setsockopt(z->pub, ZMQ_LINGER, &linger, sizeof linger) != 0 || z->bind(z->pub, endpoint) != 0) {
        fail(error, error_size, endpoint, z->strerror(z->errno_()));
        corral_zmq_close(z);
        return NULL;
    }
    if (replay_endpoint) {
        z->router = z->socket(z->context, ZMQ_ROUTER);
        if (!z->router || z->setsockopt(z->router, ZMQ_LINGER, &linger, sizeof linger) != 0
            || z->bind(z->router, replay_endpoint) != 0) {
            fail(error, error_size, replay_endpoint, z->strerror(z->errno_()));
            corral_zmq_close(z);
            return NULL;
        }
    }
    return z;
}

int corral_zmq_publish(corral_zmq *z, const char *topic, size_t topic_size, int64_t sequence,
                       const void *payload, size_t payload_size) {
    uint8_t seq[8];
    big_endian(sequence, seq);
    if (z->send(z->pub, topic, topic_size, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) return -1;
    if (z->send(z->pub, seq, 8, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) return -1;
    return z->send(z->pub, payload, payload_size, ZMQ_DONTWAIT) < 0 ? -1 : 0;
}

int corral_zmq_replay_request(corral_zmq *z, uint8_t *identity, size_t *identity_size, int64_t *start) {
    if (!z->router) return -1;
    // [identity, empty delimiter, 8-byte start]; anything else is read to its end and dropped.
    uint8_t frames[3][256];
    int sizes[3] = {0, 0, 0}, count = 0, more = 1;
    while (more) {
        uint8_t scratch[256];
        uint8_t *into = count < 3 ? frames[count] : scratch;
        int n = z->recv(z->router, into, 256, count == 0 ? ZMQ_DONTWAIT : 0);
        if (n < 0) return (count == 0 && z->errno_() == EAGAIN) ? 0 : -1;
        if (count < 3) sizes[count] = n;
        count++;
        size_t size = sizeof more;
        if (z->getsockopt(z->router, ZMQ_RCVMORE, &more, &size) != 0) return -1;
    }
    if (count != 3 || sizes[0] > 255 || sizes[1] != 0 || sizes[2] != 8) return 0;
    memcpy(identity, frames[0], (size_t)sizes[0]);
    *identity_size = (size_t)sizes[0];
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = (v << 8) | frames[2][i];
    *start = (int64_t)v;
    return 1;
}

int corral_zmq_replay_send(corral_zmq *z, const uint8_t *identity, size_t identity_size, int64_t sequence,
                           const void *payload, size_t payload_size) {
    if (!z->router) return -1;
    uint8_t seq[8];
    big_endian(sequence, seq);
    if (z->send(z->router, identity, identity_size, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) return -1;
    if (z->send(z->router, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) return -1;
    if (z->send(z->router, seq, 8, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) return -1;
    return z->send(z->router, payload, payload_size, ZMQ_DONTWAIT) < 0 ? -1 : 0;
}

void corral_zmq_close(corral_zmq *z) {
    if (!z) return;
    if (z->router && z->close) z->close(z->router);
    if (z->pub && z->close) z->close(z->pub);
    if (z->context && z->ctx_term) z->ctx_term(z->context);
    if (z->library) dlclose(z->library);
    free(z);
}

struct corral_msgpack {
    msgpack_sbuffer buffer;
    msgpack_packer packer;
};

corral_msgpack *corral_msgpack_new(void) {
    corral_msgpack *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    msgpack_sbuffer_init(&p->buffer);
    msgpack_packer_init(&p->packer, &p->buffer, msgpack_sbuffer_write);
    return p;
}

void corral_msgpack_free(corral_msgpack *p) {
    if (!p) return;
    msgpack_sbuffer_destroy(&p->buffer);
    free(p);
}

void corral_msgpack_clear(corral_msgpack *p) { msgpack_sbuffer_clear(&p->buffer); }
const void *corral_msgpack_data(const corral_msgpack *p) { return p->buffer.data; }
size_t corral_msgpack_size(const corral_msgpack *p) { return p->buffer.size; }
void corral_msgpack_array(corral_msgpack *p, uint32_t count) { msgpack_pack_array(&p->packer, count); }
void corral_msgpack_uint(corral_msgpack *p, uint64_t value) { msgpack_pack_uint64(&p->packer, value); }
void corral_msgpack_int(corral_msgpack *p, int64_t value) { msgpack_pack_int64(&p->packer, value); }
void corral_msgpack_double(corral_msgpack *p, double value) { msgpack_pack_double(&p->packer, value); }
void corral_msgpack_nil(corral_msgpack *p) { msgpack_pack_nil(&p->packer); }
void corral_msgpack_string(corral_msgpack *p, const char *bytes, size_t size) {
    msgpack_pack_str(&p->packer, size);
    msgpack_pack_str_body(&p->packer, bytes, size);
}
