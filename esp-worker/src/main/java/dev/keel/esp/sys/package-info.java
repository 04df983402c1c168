/** Linux system calls and kernel ABI bound through the foreign-function API, shared by the TUN and raw ESP code. */
package dev.keel.esp.sys;
