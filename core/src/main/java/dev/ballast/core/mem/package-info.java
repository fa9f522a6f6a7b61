/**
 * Guest RAM as the engine sees it: {@link dev.ballast.core.mem.RamLayout} (named blocks, page
 * indexes, PFNs), {@link dev.ballast.core.mem.RamBlock} and the word-array
 * {@link dev.ballast.core.mem.PageBitmap}. Depends on nothing.
 */
package dev.ballast.core.mem;
