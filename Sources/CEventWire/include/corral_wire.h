// The wire of Corral's KV events: a ZeroMQ PUB socket (and an optional ROUTER for replay)
// from libzmq, loaded when events are turned on, and msgpack-c's packer. Nothing here
// knows what an event is; LlamaEngine's publisher lays the batches out.
#ifndef CORRAL_WIRE_H
#define CORRAL_WIRE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// A PUB socket bound to an endpoint, and an optional ROUTER bound to another for replay.
/// Use from one thread only (ZeroMQ sockets are not thread-safe).
typedef struct corral_zmq corral_zmq;

/// Loads libzmq (libzmq.so.5), binds a PUB socket at `endpoint` (its send high-water mark
/// `hwm`), and a ROUTER at `replay_endpoint` unless it is NULL. NULL on failure, with the
/// reason in `error`.
corral_zmq *corral_zmq_open(const char *endpoint, const char *replay_endpoint, int hwm,
                            char *error, size_t error_size);

/// Sends one message of three frames: the topic, `sequence` as 8 bytes big-endian, and
/// the payload. Never blocks (a subscriber past the high-water mark misses it, as with
/// any PUB socket). 0 on success, -1 on failure.
int corral_zmq_publish(corral_zmq *zmq, const char *topic, size_t topic_size, int64_t sequence,
                       const void *payload, size_t payload_size);

/// A waiting replay request, if any, without blocking: 1 with the requester's identity
/// (at most 255 bytes) and the first sequence it wants, 0 when none waits or it was
/// malformed, -1 on failure or without a ROUTER.
int corral_zmq_replay_request(corral_zmq *zmq, uint8_t *identity, size_t *identity_size, int64_t *start);

/// Sends one replayed message to a requester: identity, an empty delimiter, the sequence
/// as 8 bytes big-endian and the payload (a sequence of -1 with no payload ends a replay).
int corral_zmq_replay_send(corral_zmq *zmq, const uint8_t *identity, size_t identity_size, int64_t sequence,
                           const void *payload, size_t payload_size);

/// Closes the sockets and the context.
void corral_zmq_close(corral_zmq *zmq);

/// A growing msgpack buffer and its packer (msgpack-c).
typedef struct corral_msgpack corral_msgpack;

corral_msgpack *corral_msgpack_new(void);
void corral_msgpack_free(corral_msgpack *pack);
/// Empties the buffer, keeping its memory.
void corral_msgpack_clear(corral_msgpack *pack);
const void *corral_msgpack_data(const corral_msgpack *pack);
size_t corral_msgpack_size(const corral_msgpack *pack);
void corral_msgpack_array(corral_msgpack *pack, uint32_t count);
void corral_msgpack_uint(corral_msgpack *pack, uint64_t value);
void corral_msgpack_int(corral_msgpack *pack, int64_t value);
void corral_msgpack_double(corral_msgpack *pack, double value);
void corral_msgpack_nil(corral_msgpack *pack);
void corral_msgpack_string(corral_msgpack *pack, const char *bytes, size_t size);

#ifdef __cplusplus
}
#endif

#endif
