#ifndef PURSER_SUPPORT_H
#define PURSER_SUPPORT_H
#include <stddef.h>
#include <stdint.h>

/// CRC-32C (Castagnoli), as used by iSCSI, ext4 and LevelDB. `crc` is the running value
/// (start with 0); the result is the finalized CRC of everything passed so far.
/// Uses the SSE4.2 instruction when the CPU has it, a table otherwise.
uint32_t purser_crc32c(uint32_t crc, const void *data, size_t length);

#endif
