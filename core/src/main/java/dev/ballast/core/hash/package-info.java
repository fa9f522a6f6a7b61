/**
 * XXH64, the one hash of the wire protocol's stream digest and the journal's digest. Depends on
 * nothing.
 */
package dev.ballast.core.hash;
