#ifndef PURSER_CLZ4_SHIM_H
#define PURSER_CLZ4_SHIM_H
// The frame API's dictionary functions (LZ4F_createCDict, LZ4F_compressFrame_usingCDict) are
// declared only under LZ4F_STATIC_LINKING_ONLY; Debian's liblz4.so exports them.
#define LZ4F_STATIC_LINKING_ONLY
#include <lz4.h>
#include <lz4frame.h>
#endif
