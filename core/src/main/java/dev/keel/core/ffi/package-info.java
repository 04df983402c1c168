/** Foreign-function helpers shared by the native bindings (OpenSSL's libcrypto here, libc in esp-worker). */
package dev.keel.core.ffi;
