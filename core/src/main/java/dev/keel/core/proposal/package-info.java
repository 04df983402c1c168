/**
 * Security Association proposals (RFC 7296 §3.3): the domain model, strongSwan's proposal
 * string syntax, validation, and the responder's proposal selection (RFC 7296 §2.7).
 *
 * <p>The model is independent of the wire format: an SA payload codec converts between
 * Proposal substructures and {@link dev.keel.core.proposal.Proposal}.
 */
package dev.keel.core.proposal;
