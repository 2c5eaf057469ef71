// libFuzzer's driver, entered explicitly (see Fuzz/README.md): SwiftPM links every executable
// with `--defsym main=<Module>_main`, so libFuzzer's own `main` is never used and each fuzz
// target's `<Module>_main` hands control to the driver with its callback.
#pragma once
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
