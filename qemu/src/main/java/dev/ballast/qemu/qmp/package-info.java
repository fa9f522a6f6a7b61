/** A small client of QEMU's QMP protocol over a unix socket (JSON lines, Jackson). */
package dev.ballast.qemu.qmp;
