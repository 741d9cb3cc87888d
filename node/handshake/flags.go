package handshake

import (
	"fmt"
	"math/bits"
	"strings"
)

// Flags is the 64-bit capability set a node announces in the handshake (the DFLAG_* bits of
// erl_dist). The capabilities used on a connection are those both sides announce; see Negotiate.
type Flags uint64

// Distribution capability flags, named as in the Erlang distribution protocol specification
// (erts dist.h / kernel dist.hrl).
const (
	// FlagPublished: the node is part of the global namespace (a visible node). Hidden nodes leave
	// it out, and a connection where either side leaves it out is hidden on both sides.
	FlagPublished Flags = 0x01
	// FlagAtomCache: obsolete atom cache.
	FlagAtomCache Flags = 0x02
	// FlagExtendedReferences: references of 3×32 bits. Mandatory.
	FlagExtendedReferences Flags = 0x04
	// FlagDistMonitor: distributed process monitoring.
	FlagDistMonitor Flags = 0x08
	// FlagFunTags: separate tags for funs. Mandatory.
	FlagFunTags Flags = 0x10
	// FlagDistMonitorName: distributed monitoring of registered names.
	FlagDistMonitorName Flags = 0x20
	// FlagHiddenAtomCache: obsolete atom cache of hidden nodes.
	FlagHiddenAtomCache Flags = 0x40
	// FlagNewFunTags: NEW_FUN_EXT. Mandatory.
	FlagNewFunTags Flags = 0x80
	// FlagExtendedPidsPorts: extended pids and ports. Mandatory.
	FlagExtendedPidsPorts Flags = 0x100
	// FlagExportPtrTag: EXPORT_EXT. Mandatory.
	FlagExportPtrTag Flags = 0x200
	// FlagBitBinaries: BIT_BINARY_EXT. Mandatory.
	FlagBitBinaries Flags = 0x400
	// FlagNewFloats: NEW_FLOAT_EXT. Mandatory.
	FlagNewFloats Flags = 0x800
	// FlagUnicodeIO: Unicode in the I/O protocol.
	FlagUnicodeIO Flags = 0x1000
	// FlagDistHdrAtomCache: the distribution header with its atom cache.
	FlagDistHdrAtomCache Flags = 0x2000
	// FlagSmallAtomTags: SMALL_ATOM_EXT.
	FlagSmallAtomTags Flags = 0x4000
	// FlagETSCompressed is internal to the Erlang runtime and never sent.
	FlagETSCompressed Flags = 0x8000
	// FlagUTF8Atoms: ATOM_UTF8_EXT and SMALL_ATOM_UTF8_EXT. Mandatory.
	FlagUTF8Atoms Flags = 0x10000
	// FlagMapTag: MAP_EXT. Mandatory.
	FlagMapTag Flags = 0x20000
	// FlagBigCreation: 32-bit creations (NEW_PID_EXT, NEW_PORT_EXT, NEWER_REFERENCE_EXT). Mandatory.
	FlagBigCreation Flags = 0x40000
	// FlagSendSender: SEND_SENDER instead of SEND.
	FlagSendSender Flags = 0x80000
	// FlagBigSeqtraceLabels: any term as a seq_trace label.
	FlagBigSeqtraceLabels Flags = 0x100000
	// FlagPendingConnect is internal to the Erlang runtime and never sent.
	FlagPendingConnect Flags = 0x200000
	// FlagExitPayload: PAYLOAD_EXIT, PAYLOAD_EXIT2, PAYLOAD_MONITOR_P_EXIT and their _TT forms.
	FlagExitPayload Flags = 0x400000
	// FlagFragments: fragmented distribution messages.
	FlagFragments Flags = 0x800000
	// FlagHandshake23: the version 6 handshake of OTP 23. Mandatory.
	FlagHandshake23 Flags = 0x1000000
	// FlagUnlinkID: the new link protocol (UNLINK_ID / UNLINK_ID_ACK). Mandatory from OTP 26.
	FlagUnlinkID Flags = 0x2000000
	// FlagMandatory25Digest: every flag mandatory in OTP 25 is supported.
	FlagMandatory25Digest Flags = 0x4000000
	// FlagMultisend is internal to the Erlang runtime.
	FlagMultisend Flags = 0x8000000
	// FlagReserved marks the bits of the low word kept for the handshake's own use.
	FlagReserved Flags = 0xf8000000

	// FlagSpawn: SPAWN_REQUEST and SPAWN_REPLY.
	FlagSpawn Flags = 1 << 32
	// FlagNameMe: the initiator asks the acceptor to give it a dynamic node name. A request, not a
	// capability.
	FlagNameMe Flags = 1 << 33
	// FlagV4NC: node container types version 4 (32-bit pid ID and serial, 64-bit port ID, up to 5
	// reference words). Mandatory from OTP 26.
	FlagV4NC Flags = 1 << 34
	// FlagAlias: ALIAS_SEND and ALIAS_SEND_TT.
	FlagAlias Flags = 1 << 35
	// FlagLocalExt is internal to the Erlang runtime.
	FlagLocalExt Flags = 1 << 36
	// FlagAltactSig: alternate activation signals (added after OTP 27).
	FlagAltactSig Flags = 1 << 37
	// FlagNativeRecords: native records in the term format (added after OTP 27).
	FlagNativeRecords Flags = 1 << 38
)

// Mandatory flag sets. A peer missing any of Mandatory is refused: OTP 26 and later refuse
// such a peer themselves; OTP 25 would take a peer without Mandatory26 (an old C or Java
// node), which this package does not, since every OTP release it supports sends them.
const (
	// Mandatory25 is what OTP 25 and later require of every peer.
	Mandatory25 = FlagExtendedReferences | FlagFunTags | FlagExtendedPidsPorts | FlagUTF8Atoms |
		FlagNewFunTags | FlagBigCreation | FlagNewFloats | FlagMapTag | FlagExportPtrTag |
		FlagBitBinaries | FlagHandshake23
	// Mandatory26 is what OTP 26 added: the new link protocol and version 4 node containers.
	Mandatory26 = FlagV4NC | FlagUnlinkID
	// Mandatory is everything OTP 26 and later (up to OTP 29) require, and what this package
	// requires of a peer: without it the DIST layer would need the old link protocol and short
	// pids, which no supported OTP release uses.
	Mandatory = Mandatory25 | Mandatory26
)

// DefaultFlags is what a visible node announces: every mandatory flag, the digest flag that
// stands for them, and the optional capabilities the DIST layer honours. It matches what OTP
// 25-29 announce, less the runtime-internal flags, the obsolete atom caches, SMALL_ATOM_TAGS
// and UNICODE_IO (Latin-1 atoms and the I/O protocol flag bring nothing to a Go node) and the
// additions after OTP 27 (ALTACT_SIG, NATIVE_RECORDS).
const DefaultFlags = FlagPublished | Mandatory | FlagMandatory25Digest |
	FlagDistMonitor | FlagDistMonitorName | FlagDistHdrAtomCache |
	FlagSendSender | FlagBigSeqtraceLabels | FlagExitPayload | FlagFragments |
	FlagSpawn | FlagAlias

// HiddenFlags is what a hidden node announces: the same capabilities, not published.
const HiddenFlags = DefaultFlags &^ FlagPublished

// Has reports whether every bit of want is set in f.
func (f Flags) Has(want Flags) bool { return f&want == want }

// Missing returns the bits of want that f lacks.
func (f Flags) Missing(want Flags) Flags { return want &^ f }

// normalize returns the flags a peer effectively announced: MANDATORY_25_DIGEST stands for the
// whole OTP 25 mandatory set.
func (f Flags) normalize() Flags {
	if f.Has(FlagMandatory25Digest) {
		f |= Mandatory25
	}
	return f
}

// Negotiate returns the capabilities used on a connection where one side announced ours and the
// other peer: the intersection, where MANDATORY_25_DIGEST counts as the set it stands for.
// PUBLISHED survives only if both sides set it, so a connection with a hidden node is hidden on
// both ends.
func Negotiate(ours, peer Flags) Flags {
	return ours.normalize() & peer.normalize()
}

var flagNames = [64]string{
	0: "PUBLISHED", 1: "ATOM_CACHE", 2: "EXTENDED_REFERENCES", 3: "DIST_MONITOR",
	4: "FUN_TAGS", 5: "DIST_MONITOR_NAME", 6: "HIDDEN_ATOM_CACHE", 7: "NEW_FUN_TAGS",
	8: "EXTENDED_PIDS_PORTS", 9: "EXPORT_PTR_TAG", 10: "BIT_BINARIES", 11: "NEW_FLOATS",
	12: "UNICODE_IO", 13: "DIST_HDR_ATOM_CACHE", 14: "SMALL_ATOM_TAGS", 15: "ETS_COMPRESSED",
	16: "UTF8_ATOMS", 17: "MAP_TAG", 18: "BIG_CREATION", 19: "SEND_SENDER",
	20: "BIG_SEQTRACE_LABELS", 21: "PENDING_CONNECT", 22: "EXIT_PAYLOAD", 23: "FRAGMENTS",
	24: "HANDSHAKE_23", 25: "UNLINK_ID", 26: "MANDATORY_25_DIGEST", 27: "MULTISEND",
	32: "SPAWN", 33: "NAME_ME", 34: "V4_NC", 35: "ALIAS", 36: "LOCAL_EXT", 37: "ALTACT_SIG",
	38: "NATIVE_RECORDS",
}

// String lists the flags by their protocol names, e.g. "PUBLISHED|EXTENDED_REFERENCES"; bits
// without a name show as hexadecimal.
func (f Flags) String() string {
	if f == 0 {
		return "0"
	}
	var names []string
	for rest := uint64(f); rest != 0; rest &= rest - 1 {
		bit := bits.TrailingZeros64(rest)
		if name := flagNames[bit]; name != "" {
			names = append(names, name)
		} else {
			names = append(names, fmt.Sprintf("0x%x", uint64(1)<<bit))
		}
	}
	return strings.Join(names, "|")
}
