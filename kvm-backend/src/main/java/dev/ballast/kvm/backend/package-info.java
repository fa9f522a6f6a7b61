/**
 * The {@code kvm} backend of {@code ballast run}: {@link dev.ballast.kvm.backend.KvmBackend}
 * (found by name through {@code META-INF/services}) and {@link dev.ballast.kvm.backend.KvmRun}
 * (boot, prologue, migrate, retry, chain, verify). The top of the module: may depend on every
 * other package of it and on {@code core}; nothing depends on it but the service loader.
 */
package dev.ballast.kvm.backend;
