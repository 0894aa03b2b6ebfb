/* Deep copies of protobuf-c messages. */
#ifndef STRAIT_PBCOPY_H
#define STRAIT_PBCOPY_H

#include <protobuf-c/protobuf-c.h>

/* A copy of m that the caller frees with protobuf_c_message_free_unpacked
 * (m, NULL) or the type's *_free_unpacked; NULL when out of memory. Made by
 * packing and unpacking, which is the one copy protobuf-c guarantees to be
 * complete for every field type; messages copied this way are small
 * (requests kept for the life of a watch). */
ProtobufCMessage *pb_copy(const ProtobufCMessage *m);

#endif
