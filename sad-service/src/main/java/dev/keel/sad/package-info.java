/** The Security Association Database on Hazelcast. */
package dev.keel.sad;
