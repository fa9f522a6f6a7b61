#!/bin/sh
# Builds the Ballast guest program (src/main/c/guest) into a flat binary for the KVM backend.
# Called by Maven at generate-resources: build-guest.sh SRC_DIR OUT_DIR OBJ_DIR
set -eu
src=$1; out=$2; obj=$3
CC=${CC:-gcc}
OBJCOPY=${OBJCOPY:-objcopy}
if ! command -v "$CC" >/dev/null 2>&1; then
  echo "ERROR: kvm-backend needs gcc to build its guest program ($src); '$CC' was not found. Install gcc (e.g. apt-get install gcc) or set CC." >&2
  exit 1
fi
if ! command -v "$OBJCOPY" >/dev/null 2>&1; then
  echo "ERROR: kvm-backend needs objcopy (binutils) to build its guest program; '$OBJCOPY' was not found." >&2
  exit 1
fi
mkdir -p "$out" "$obj"
# -fpie: the image lives at 1 TiB, out of reach of the small code model's 32-bit absolute
# addresses; position-independent code addresses it RIP-relative, and the final link at a
# fixed address (-no-pie, linker script) resolves every relocation, so nothing is left to
# relocate at load time. -mgeneral-regs-only: no SSE/x87 state, so regs + sregs are the
# whole vCPU state to migrate.
"$CC" -std=gnu11 -O2 -Wall -Wextra -Werror \
  -ffreestanding -nostdlib -static -no-pie -fpie -mno-red-zone -mgeneral-regs-only \
  -fno-stack-protector -fno-asynchronous-unwind-tables -fno-unwind-tables -fno-builtin \
  -fcf-protection=none -Wl,--build-id=none -Wl,-T,"$src/guest.ld" -Wl,-z,norelro -Wl,--no-dynamic-linker -Wl,--no-warn-rwx-segments \
  -o "$obj/ballast-guest.elf" "$src/guest.c"
"$OBJCOPY" -O binary "$obj/ballast-guest.elf" "$out/ballast-guest.bin"
